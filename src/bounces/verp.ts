import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * VERP return paths: every message's envelope sender is bounce+<delivery id>-<tag>@BOUNCE_DOMAIN,
 * so a bounce names the ledger row it is about even when the receiver's report quotes nothing of
 * the message. The tag is a short HMAC under SECRET_KEY (hex: some MTAs lower-case local parts):
 * an address that is forged or mangled on the way does not verify and its mail is ignored, so
 * nobody can suppress a reader by mailing a made-up bounce.
 */
const TAG_LENGTH = 12;

function tag(deliveryId: number, key: string): string {
  return createHmac('sha256', key).update(`gazette-verp\0${deliveryId}`).digest('hex').slice(0, TAG_LENGTH);
}

export function verpAddress(deliveryId: number, secretKey: string, domain: string): string {
  return `bounce+${deliveryId}-${tag(deliveryId, secretKey)}@${domain.toLowerCase()}`;
}

export type VerpMatch =
  | { kind: 'verp'; deliveryId: number }
  /** bounce+...@ with a tag that does not verify: forged, or mangled on the way */
  | { kind: 'forged' }
  /** another local part at the bounce domain (a plain bounce address) */
  | { kind: 'plain' };

/** Reads a bounce's envelope recipient; the previous key verifies too during a key rotation. */
export function readVerp(address: string, keys: Array<string | undefined>): VerpMatch {
  const local = address.slice(0, address.lastIndexOf('@')).toLowerCase();
  if (!local.startsWith('bounce+')) return { kind: 'plain' };
  const m = /^bounce\+(\d{1,15})-([0-9a-f]+)$/.exec(local);
  if (!m) return { kind: 'forged' };
  const deliveryId = Number(m[1]);
  const given = Buffer.from(m[2]!);
  for (const key of keys) {
    if (!key) continue;
    const expected = Buffer.from(tag(deliveryId, key));
    if (given.length === expected.length && timingSafeEqual(given, expected))
      return { kind: 'verp', deliveryId };
  }
  return { kind: 'forged' };
}
