/**
 * tracked: the gazette lane's send with click tracking on in the publication (every article link a
 * signed per-reader `/c/<token>`): same seed, same worker, same sink, duplicates counted the same
 * way. A lane that measured plain links would say nothing about tracking, so the sink keeps about
 * SAMPLES digests whole and each must carry, for every link slot of its edition, a /c/ link whose
 * token verifies for that reader and that edition, and none of the edition's plain links.
 */
import { rmSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { createClickTokens, type EditionLink } from '../../src/clicks/index.js';
import type { Db } from '../../src/db/pool.js';
import {
  type LaneContext,
  type LaneResult,
  PUBLIC_URL,
  SECRET_KEY,
  writeTrackedPublication,
} from '../common.js';
import type { RemoteSink } from '../procs.js';
import { gazetteRun } from './gazette.js';

const SAMPLES = 100;
const CLICK_LINK = new RegExp(`${PUBLIC_URL.replace(/\./g, '\\.')}/c/([A-Za-z0-9_-]+)`, 'g');

export async function runTracked(ctx: LaneContext): Promise<LaneResult[]> {
  const publicationConfig = writeTrackedPublication();
  const [main] = await gazetteRun(ctx, {
    label: 'tracked',
    alert: false,
    captureMix: false,
    publicationConfig,
    sampleEvery: Math.max(1, Math.floor(ctx.opts.readers / SAMPLES)),
    check: checkClickLinks,
  }).finally(() => rmSync(publicationConfig, { force: true }));
  main!.summary = `${main!.summary}, ${main!.clickLinksChecked} /c/ links verified in ${main!.digestsChecked} sampled digests`;
  return [main!];
}

/** Every sampled digest carries its reader's signed links for every slot, and no plain link. */
export async function checkClickLinks(db: Db, sink: RemoteSink): Promise<Record<string, unknown>> {
  const samples = await sink.samples();
  if (samples.length === 0) throw new Error('the sink kept no digest to check');
  const { rows } = await db.query<{
    recipient: string;
    subscriber_id: string;
    edition_id: string;
    links: EditionLink[] | null;
  }>(
    `SELECT lower(d.recipient) AS recipient, d.subscriber_id, d.edition_id, e.links
       FROM deliveries d JOIN editions e ON e.id = d.edition_id
      WHERE d.kind = 'digest' AND lower(d.recipient) = ANY($1)`,
    [samples.flatMap((s) => s.recipients)],
  );
  const byRecipient = new Map(rows.map((r) => [r.recipient, r]));
  const tokens = createClickTokens({ secretKey: SECRET_KEY });
  let checked = 0;
  for (const sample of samples) {
    const rcpt = sample.recipients[0] ?? '';
    const row = byRecipient.get(rcpt);
    if (!row) throw new Error(`a digest to ${rcpt} has no delivery row`);
    const links = row.links ?? [];
    if (links.length === 0) throw new Error(`edition ${row.edition_id} has no links`);
    const mail = await simpleParser(Buffer.from(sample.raw, 'latin1'));
    const parts = {
      html: (typeof mail.html === 'string' ? mail.html : '').replaceAll('&amp;', '&'),
      text: mail.text ?? '',
    };
    for (const [part, body] of Object.entries(parts)) {
      const slots = new Set<number>();
      for (const m of body.matchAll(CLICK_LINK)) {
        const claims = tokens.verify(m[1]!);
        if (!claims) throw new Error(`${rcpt}'s ${part} has a /c/ link that does not verify`);
        if (claims.subscriberId !== row.subscriber_id || claims.editionId !== row.edition_id)
          throw new Error(`${rcpt}'s ${part} has a /c/ link signed for another reader or edition`);
        slots.add(claims.slot);
        checked++;
      }
      if (slots.size !== links.length || [...slots].some((s) => s >= links.length))
        throw new Error(
          `tracked: ${rcpt}'s ${part} links slots [${[...slots].sort((a, b) => a - b).join(',')}] of ${links.length}`,
        );
      const plain = links.find((l) => body.includes(l.url));
      if (plain) throw new Error(`${rcpt}'s ${part} carries the plain link ${plain.url}`);
    }
  }
  return { digestsChecked: samples.length, clickLinksChecked: checked };
}
