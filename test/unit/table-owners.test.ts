import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * One owner per table: every INSERT, UPDATE, DELETE or TRUNCATE in src/ and workers/ lives in the
 * table's owner module (CONTEXT.md, "Table owners"). Other code calls the owner's functions.
 */
const OWNERS: Record<string, string[]> = {
  // per-reader statements (the reader's own state changes in subscriber-state-store.ts); the
  // set-based ones of list imports and erasure
  subscribers: [
    'src/subscriptions/subscriber-store.ts',
    'src/subscriptions/subscriber-state-store.ts',
    'src/subscriptions/subscriber-import-store.ts',
  ],
  consent_events: ['src/subscriptions/subscriber-store.ts', 'src/subscriptions/subscriber-import-store.ts'],
  // one table, three files: per-row statements (transactional mail, edition rows, retention), the
  // per-batch claims of bulk sends, and statements over many readers (import confirmations, erasure)
  deliveries: [
    'src/delivery/delivery-store.ts',
    'src/delivery/delivery-batch-store.ts',
    'src/delivery/reader-rows.ts',
  ],
  // creation, rendering and recipients; every later state change
  editions: ['src/digests/edition-store.ts', 'src/digests/edition-state-store.ts'],
  digest_runs: ['src/digests/run-store.ts'],
  articles: ['src/articles/article-store.ts'],
  article_events: ['src/articles/event-store.ts'],
  feed_state: ['src/articles/feed-state-store.ts'],
  schema_migrations: ['src/db/migrate.ts'],
  dev_mailbox: ['src/mail/dev-mailbox.ts'],
  provider_domains: ['src/shaping/provider-store.ts'],
  bounce_events: ['src/bounces/bounce-store.ts'],
  complaint_guard: ['src/bounces/complaint-guard-store.ts'],
  inbound_mail: ['src/bounces/inbound-store.ts'],
  operators: ['src/operators/operator-store.ts'],
  imports: ['src/imports/import-store.ts'],
  import_rows: ['src/imports/import-store.ts'],
  suppression_hashes: ['src/subscriptions/suppression-store.ts'],
  // outgoing CMS webhooks: the outbox (its CTEs run inside the changes' own statements), the
  // per-endpoint delivery rows and their log; the endpoints themselves
  outbox_events: ['src/outbox/outbox-store.ts'],
  webhook_deliveries: ['src/outbox/outbox-store.ts'],
  webhook_attempts: ['src/outbox/outbox-store.ts'],
  webhook_endpoints: ['src/outbox/endpoint-store.ts'],
  erasures: ['src/subscriptions/suppression-store.ts'],
  clicks: ['src/clicks/click-store.ts'],
  click_optouts: ['src/clicks/click-store.ts'],
  article_popularity: ['src/clicks/popularity-store.ts'],
  repermissions: ['src/engagement/repermission-store.ts'],
};

/**
 * Writers outside the owner, each for a reason. The test fails when one stops writing the table,
 * so the entry is removed the day the exception is closed.
 */
const EXCEPTIONS: Array<{ file: string; table: string; why: string }> = [
  {
    file: 'src/subscriptions/subscriber-store.ts',
    table: 'deliveries',
    why: 'a first subscription is one statement (reader, consent, confirmation row): no round trips, all or nothing',
  },
];

const WRITE =
  /\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?([a-z_][a-z0-9_]*)/g;

/** Tables a source text writes, comments left out (SQL keywords are upper case in this tree). */
function tablesWritten(source: string, tables: Set<string>): Set<string> {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out = new Set<string>();
  for (const m of code.matchAll(WRITE)) if (tables.has(m[1]!)) out.add(m[1]!);
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const migrations = readdirSync('src/db/migrations')
  .filter((f) => f.endsWith('.sql'))
  .map((f) => readFileSync(join('src/db/migrations', f), 'utf8'));
const tables = new Set(
  [...migrations, readFileSync('src/db/migrate.ts', 'utf8')].flatMap((sql) =>
    [...sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?([a-z_][a-z0-9_]*)/g)].map((m) => m[1]!),
  ),
);
const writers = [...tsFiles('src'), ...tsFiles('workers')].flatMap((file) =>
  [...tablesWritten(readFileSync(file, 'utf8'), tables)].map((table) => ({ file, table })),
);

describe('one owner per table', () => {
  it('finds the tables and their writers', () => {
    expect(tables).toContain('deliveries');
    expect(tables).toContain('schema_migrations');
    expect(writers.length).toBeGreaterThan(10);
  });

  it('sees writes through aliases, CTEs and line breaks, not comments or row locks', () => {
    const t = new Set(['editions', 'deliveries', 'subscribers']);
    expect(tablesWritten('`WITH c AS (SELECT 1)\n UPDATE editions e\n SET x = 1`', t)).toEqual(
      new Set(['editions']),
    );
    expect(tablesWritten("q('DELETE FROM deliveries WHERE id = $1')", t)).toEqual(new Set(['deliveries']));
    expect(tablesWritten('/** one UPDATE editions per batch */\n// INSERT INTO deliveries', t).size).toBe(0);
    expect(tablesWritten('`SELECT id FROM subscribers FOR UPDATE SKIP LOCKED`', t).size).toBe(0);
  });

  it('every table has an owner, and every owner is a table', () => {
    expect([...tables].filter((t) => !OWNERS[t])).toEqual([]);
    expect(Object.keys(OWNERS).filter((t) => !tables.has(t))).toEqual([]);
  });

  it('no module but its owner writes a table', () => {
    const strays = writers.filter(
      ({ file, table }) =>
        !OWNERS[table]?.includes(file) && !EXCEPTIONS.some((x) => x.file === file && x.table === table),
    );
    expect(strays).toEqual([]);
  });

  it.each(EXCEPTIONS)('the exception $file -> $table still applies (else remove it)', ({ file, table }) => {
    expect(writers).toContainEqual({ file, table });
  });
});
