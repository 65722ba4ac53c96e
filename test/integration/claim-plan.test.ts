import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM_SQL } from '../../src/delivery/delivery-batch-store.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function find(node: PlanNode, type: string): PlanNode | undefined {
  if (node['Node Type'] === type) return node;
  for (const child of node.Plans ?? []) {
    const hit = find(child, type);
    if (hit) return hit;
  }
  return undefined;
}

/** every node under `node`, itself included */
function nodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodes)];
}

describe('the claim query plan', () => {
  let ctx: TestContext;
  const [first, second] = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'];

  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
    // two editions of 20,000 readers each, their ledger rows interleaved by id as the planner's
    // chunks interleave them, 40 batches of 500 each
    await ctx.db.query(
      `INSERT INTO subscribers (email, email_key, status, language, frequency, timezone)
       SELECT 'r' || g || '@example.org', 'r' || g || '@example.org', 'confirmed', 'ar', 'daily', 'Asia/Riyadh'
         FROM generate_series(1, 20000) g`,
    );
    for (const [id, key] of [
      [first, 'claim-plan-1'],
      [second, 'claim-plan-2'],
    ]) {
      await ctx.db.query(
        `INSERT INTO editions (id, kind, template, language, frequency, article_ids, edition_key, state, due_at)
         VALUES ($1, 'digest', 'digest', 'ar', 'daily', '{}', $2, 'sending', now())`,
        [id, key],
      );
    }
    await ctx.db.query(
      `INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, state, edition_id, batch_no)
       SELECT 'digest', e.key || '-' || s.n, s.id, s.email, 'pending', e.id, (s.n - 1) / 500
         FROM (SELECT id, email, row_number() OVER (ORDER BY email) AS n FROM subscribers) s
        CROSS JOIN (VALUES ($1::uuid, 'a'), ($2::uuid, 'b')) AS e(id, key)
        ORDER BY s.n, e.key`,
      [first, second],
    );
    await ctx.db.query('ANALYZE subscribers, editions, deliveries');
  }, 60_000);

  afterAll(async () => {
    await ctx?.close();
  });

  it('takes the last batch of a large edition reading only the rows it takes', async () => {
    const client = await ctx.db.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${CLAIM_SQL}`,
        [second, 39, 'token', 32, new Date()],
      );
      const plan = rows[0]!['QUERY PLAN'][0]!.Plan;
      const lock = find(plan, 'LockRows');
      expect(lock, JSON.stringify(plan)).toBeDefined();
      const input = lock!.Plans![0]!;
      // before migration 012 PostgreSQL walked the primary key and filtered (39,000 rows removed
      // here), or would have had to sort the whole batch
      expect(nodes(input).some((n) => n['Node Type'] === 'Sort')).toBe(false);
      expect(input['Rows Removed by Filter'] ?? 0).toBe(0);
      expect(input['Actual Rows']).toBe(32);
      expect(find(plan, 'ModifyTable')?.['Actual Rows'] ?? lock!['Actual Rows']).toBe(32);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
