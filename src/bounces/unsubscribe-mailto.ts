import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The per-reader mailto of List-Unsubscribe (RFC 2369): LIST_UNSUBSCRIBE_MAILTO with the reader in
 * the local part, unsubscribe+<reader>-<tag>@domain. The reader is the subscriber's UUID and the
 * tag an HMAC of it under SECRET_KEY, both in lower-case base32 (some MTAs lower-case local parts),
 * so mail to a made-up or mangled address unsubscribes nobody. 26 + 16 characters plus the base:
 * the whole local part stays within RFC 5321's 64 octets while the base's is at most 20.
 */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const TAG_BYTES = 10;
export const MAILTO_BASE_LOCAL_MAX = 20;

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function fromBase32(text: string, length: number): Buffer | undefined {
  const out = Buffer.alloc(length);
  let bits = 0;
  let value = 0;
  let i = 0;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    value = ((value << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      if (i >= length) return undefined;
      out[i++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return i === length ? out : undefined;
}

const tag = (id: Buffer, key: string) =>
  createHmac('sha256', key).update('gazette-unsubscribe-mailto\0').update(id).digest().subarray(0, TAG_BYTES);

function split(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return { local: address.slice(0, at).toLowerCase(), domain: address.slice(at + 1).toLowerCase() };
}

/** The List-Unsubscribe mailto address of one reader. */
export function unsubscribeMailto(base: string, subscriberId: string, secretKey: string): string {
  const { local, domain } = split(base);
  const id = Buffer.from(subscriberId.replace(/-/g, ''), 'hex');
  return `${local}+${base32(id)}-${base32(tag(id, secretKey))}@${domain}`;
}

export type MailtoMatch =
  | { kind: 'reader'; subscriberId: string }
  /** base+...@ whose reader or tag does not verify: made up, or mangled on the way */
  | { kind: 'forged' }
  /** the base address itself, without a reader */
  | { kind: 'bare' }
  /** not the unsubscribe address at all */
  | { kind: 'other' };

/** Reads a recipient address against LIST_UNSUBSCRIBE_MAILTO; the previous key verifies too. */
export function readUnsubscribeMailto(
  address: string,
  base: string | undefined,
  keys: Array<string | undefined>,
): MailtoMatch {
  if (!base) return { kind: 'other' };
  const want = split(base);
  const got = split(address);
  if (got.domain !== want.domain) return { kind: 'other' };
  if (got.local === want.local) return { kind: 'bare' };
  if (!got.local.startsWith(`${want.local}+`)) return { kind: 'other' };
  const m = /^([a-z2-7]{26})-([a-z2-7]{16})$/.exec(got.local.slice(want.local.length + 1));
  const id = m ? fromBase32(m[1]!, 16) : undefined;
  const given = m ? fromBase32(m[2]!, TAG_BYTES) : undefined;
  if (!id || !given) return { kind: 'forged' };
  let ok = false;
  for (const key of keys) if (key) ok = timingSafeEqual(given, tag(id, key)) || ok;
  if (!ok) return { kind: 'forged' };
  const h = id.toString('hex');
  return {
    kind: 'reader',
    subscriberId: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`,
  };
}
