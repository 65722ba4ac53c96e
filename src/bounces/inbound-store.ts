import type { Queryable } from '../db/pool.js';

/** The SQL of inbound_mail (migration 029), its one owner. */
export interface InboundMail {
  id: number;
  receivedAt: Date;
  remoteIp: string | null;
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  processedAt: Date | null;
  attempts: number;
}

export async function insertInboundMail(
  q: Queryable,
  m: { receivedAt: Date; remoteIp: string | null; mailFrom: string; rcptTo: string[]; raw: Buffer },
): Promise<number> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO inbound_mail (received_at, remote_ip, mail_from, rcpt_to, raw)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [m.receivedAt, m.remoteIp, m.mailFrom.slice(0, 320), m.rcptTo.map((r) => r.slice(0, 320)), m.raw],
  );
  return Number(rows[0]!.id);
}

/** The stored mail, counting this attempt; undefined when it is gone (pruned). */
export async function takeInboundMail(q: Queryable, id: number): Promise<InboundMail | undefined> {
  const { rows } = await q.query<{
    id: string;
    received_at: Date;
    remote_ip: string | null;
    mail_from: string;
    rcpt_to: string[];
    raw: Buffer;
    processed_at: Date | null;
    attempts: number;
  }>(
    `UPDATE inbound_mail SET attempts = attempts + 1 WHERE id = $1
     RETURNING id, received_at, remote_ip, mail_from, rcpt_to, raw, processed_at, attempts`,
    [id],
  );
  const r = rows[0];
  return r
    ? {
        id: Number(r.id),
        receivedAt: r.received_at,
        remoteIp: r.remote_ip,
        mailFrom: r.mail_from,
        rcptTo: r.rcpt_to,
        raw: r.raw,
        processedAt: r.processed_at,
        attempts: r.attempts,
      }
    : undefined;
}

export async function markInboundProcessed(
  q: Queryable,
  id: number,
  at: Date,
  outcome: string,
): Promise<void> {
  await q.query('UPDATE inbound_mail SET processed_at = $2, outcome = $3 WHERE id = $1', [
    id,
    at,
    outcome.slice(0, 500),
  ]);
}

/** Unprocessed mail stored before `before` (its job lost or failed for good), oldest first. */
export async function unprocessedInboundMail(q: Queryable, before: Date, limit: number): Promise<number[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM inbound_mail WHERE processed_at IS NULL AND received_at < $1 ORDER BY id LIMIT $2`,
    [before, limit],
  );
  return rows.map((r) => Number(r.id));
}

export async function pruneInboundMail(q: Queryable, processedBefore: Date): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM inbound_mail WHERE id IN (
       SELECT id FROM inbound_mail WHERE processed_at < $1 ORDER BY processed_at LIMIT 5000)`,
    [processedBefore],
  );
  return rowCount ?? 0;
}
