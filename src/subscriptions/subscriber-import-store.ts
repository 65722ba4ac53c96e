import type { Queryable } from '../db/pool.js';

/**
 * The subscribers and consent_events statements of list imports and erasure: set-based, a few
 * statements per chunk of rows. Second owner of both tables beside subscriber-store.ts (which holds
 * the per-reader statements).
 */
export interface ImportedChunk {
  importId: string;
  /** staged rows in (fromRow, toRow] still without an outcome are inserted */
  fromRow: number;
  toRow: number;
  mode: 'confirm' | 'attested';
  attestation: string | null;
  operator: string;
  /** for rows whose file gave no send hour */
  sendHour: number;
  consentVersion: string;
  consentText: { ar: string; en: string };
  at: Date;
}

/**
 * New readers from one chunk of an import's staged rows, with their consent evidence, in one
 * statement. confirm: pending, without a confirmation yet (the paced mailer sends it); attested:
 * confirmed, the operator's attestation recorded as the `confirmed` event. An address that became a
 * reader meanwhile is left alone (ON CONFLICT) and not returned. Run both in one transaction.
 */
export async function insertImportedChunk(
  q: Queryable,
  c: ImportedChunk,
): Promise<Array<{ emailKey: string; subscriberId: string }>> {
  const attested = c.mode === 'attested';
  const { rows } = await q.query<{ id: string; email_key: string }>(
    `INSERT INTO subscribers (id, email, email_key, name, status, language, topics, frequency, alerts, timezone,
                              send_hour, weekly_day, confirmed_at, created_at, updated_at)
     SELECT gen_random_uuid(), email, email_key, name, $4, language, coalesce(topics, '{}'), frequency,
            coalesce(alerts, false), timezone, coalesce(send_hour, $5), weekly_day,
            CASE WHEN $4 = 'confirmed' THEN $6::timestamptz END, $6, $6
       FROM import_rows WHERE import_id = $1 AND row_no > $2 AND row_no <= $3 AND outcome IS NULL
      ORDER BY row_no
     ON CONFLICT (email_key) DO NOTHING
     RETURNING id, email_key`,
    [c.importId, c.fromRow, c.toRow, attested ? 'confirmed' : 'pending', c.sendHour, c.at],
  );
  if (rows.length === 0) return [];
  // A second statement rather than a join of the INSERT's RETURNING with the staged rows: both
  // sides of that join are CTE scans without statistics, and PostgreSQL chose a nested loop over
  // them (7 s for 5,000 rows). From the returned keys, each staged row is one index probe.
  await q.query(
    `INSERT INTO consent_events (subscriber_id, email, event, source, consent_version, consent_text, details,
                                 occurred_at)
     SELECT v.id, r.email, $6, 'import', $7,
            CASE WHEN $8::text IS NOT NULL THEN $8 WHEN r.language = 'ar' THEN $9 ELSE $10 END,
            jsonb_build_object('importId', $1::text, 'row', r.row_no, 'mode', $11::text, 'operator', $12::text,
                               'originalConsentAt', r.consent_at, 'originalConsentSource', r.consent_source,
                               'confirmationMailed', false),
            $13
       FROM unnest($4::uuid[], $5::text[]) AS v(id, email_key)
       JOIN import_rows r ON r.email_key = v.email_key AND r.import_id = $1 AND r.row_no > $2 AND r.row_no <= $3
                         AND r.outcome IS NULL`,
    [
      c.importId,
      c.fromRow,
      c.toRow,
      rows.map((r) => r.id),
      rows.map((r) => r.email_key),
      attested ? 'confirmed' : 'subscribe_requested',
      attested ? null : c.consentVersion,
      attested ? c.attestation : null,
      c.consentText.ar,
      c.consentText.en,
      c.mode,
      c.operator,
      c.at,
    ],
  );
  return rows.map((r) => ({ emailKey: r.email_key, subscriberId: r.id }));
}

/**
 * Gives imported readers still pending and never mailed their confirmation nonce. Readers who
 * confirmed, left or asked again by themselves meanwhile are not returned.
 */
export async function startImportConfirmations(
  q: Queryable,
  readers: Array<{ subscriberId: string; nonce: string }>,
  at: Date,
): Promise<Array<{ subscriberId: string; email: string; nonce: string }>> {
  if (readers.length === 0) return [];
  const { rows } = await q.query<{ id: string; email: string; confirm_nonce: string }>(
    `UPDATE subscribers s SET confirm_nonce = v.nonce, confirmation_sent_at = $3, updated_at = $3
       FROM unnest($1::uuid[], $2::text[]) AS v(id, nonce)
      WHERE s.id = v.id AND s.status = 'pending' AND s.confirm_nonce IS NULL
      RETURNING s.id, s.email, s.confirm_nonce`,
    [readers.map((r) => r.subscriberId), readers.map((r) => r.nonce), at],
  );
  return rows.map((r) => ({ subscriberId: r.id, email: r.email, nonce: r.confirm_nonce }));
}

/**
 * Erasure: the reader's consent history and the reader. consent_events is append-only; the
 * trigger lets a DELETE through only inside a transaction that set gazette.erasure (026).
 */
export async function deleteReader(q: Queryable, subscriberId: string): Promise<{ consentEvents: number }> {
  await q.query(`SET LOCAL gazette.erasure = 'on'`);
  const events = await q.query(`DELETE FROM consent_events WHERE subscriber_id = $1`, [subscriberId]);
  await q.query(`DELETE FROM subscribers WHERE id = $1`, [subscriberId]);
  return { consentEvents: events.rowCount ?? 0 };
}
