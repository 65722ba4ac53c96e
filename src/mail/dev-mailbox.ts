import { randomUUID } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Db, Queryable } from '../db/pool.js';

export interface CaughtMail {
  id: string;
  receivedAt: Date;
  envelopeFrom: string;
  envelopeTo: string[];
  subject: string;
}

export interface CaughtMessage extends CaughtMail {
  raw: Buffer;
}

interface Row {
  id: string;
  received_at: Date;
  envelope_from: string;
  envelope_to: string[];
  subject: string;
  raw?: Buffer;
}

const toMail = (r: Row): CaughtMail => ({
  id: r.id,
  receivedAt: r.received_at,
  envelopeFrom: r.envelope_from,
  envelopeTo: r.envelope_to,
  subject: r.subject,
});

/**
 * Development mailbox: a real SMTP server in-process that keeps the newest messages in
 * PostgreSQL (table dev_mailbox), so a newcomer sees every mail at /dev/mailbox without
 * installing anything, and still sees it after a restart. A message is stored before the
 * server answers 250, like a real relay.
 */
export class DevMailbox {
  private server?: SMTPServer;

  constructor(
    private readonly db: Db,
    private readonly limit = 500,
  ) {}

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      size: 25 * 1024 * 1024,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          const envelopeTo = session.envelope.rcptTo.map((r) => r.address);
          simpleParser(raw)
            .then((parsed) => this.store(envelopeFrom, envelopeTo, parsed.subject ?? '', raw))
            .then(() => callback())
            .catch((err: Error) => callback(err));
        });
      },
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  private async store(envelopeFrom: string, envelopeTo: string[], subject: string, raw: Buffer) {
    await this.db.query(
      `INSERT INTO dev_mailbox (id, received_at, envelope_from, envelope_to, subject, raw)
       VALUES ($1, now(), $2, $3, $4, $5)`,
      [randomUUID(), envelopeFrom, envelopeTo, subject, raw],
    );
    await this.db.query(
      `DELETE FROM dev_mailbox WHERE id IN (
         SELECT id FROM dev_mailbox ORDER BY received_at DESC, id DESC OFFSET $1)`,
      [this.limit],
    );
  }

  /** Newest first. */
  async list(): Promise<CaughtMail[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT id, received_at, envelope_from, envelope_to, subject FROM dev_mailbox
        ORDER BY received_at DESC, id DESC LIMIT $1`,
      [this.limit],
    );
    return rows.map(toMail);
  }

  async get(id: string): Promise<CaughtMessage | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const { rows } = await this.db.query<Row & { raw: Buffer }>('SELECT * FROM dev_mailbox WHERE id = $1', [
      id,
    ]);
    const row = rows[0];
    return row ? { ...toMail(row), raw: row.raw } : undefined;
  }

  async clear(): Promise<number> {
    const { rowCount } = await this.db.query('DELETE FROM dev_mailbox');
    return rowCount ?? 0;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Erasure: every caught message addressed to the address (the table is empty outside development). */
export async function deleteMailTo(q: Queryable, emailKey: string): Promise<number> {
  const res = await q.query(
    `DELETE FROM dev_mailbox WHERE EXISTS (SELECT 1 FROM unnest(envelope_to) t WHERE lower(t) = $1)
        OR lower(envelope_from) = $1`,
    [emailKey],
  );
  return res.rowCount ?? 0;
}
