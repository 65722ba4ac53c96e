/**
 * The token of a click redirect (`/c/<token>`): which edition, which article link (its slot in
 * the edition) and which reader, with an HMAC over the three. The target URL is never in the
 * token: the redirect looks it up from the edition, so a tampered token can only fail to verify.
 *
 * Fixed binary layout, base64url (60 characters): edition uuid (16) | slot (1) | reader uuid (16)
 * | tag (12). A 96-bit tag is ample for a link that only counts a click. Verification also tries
 * SECRET_KEY_PREVIOUS, so links already in inboxes survive a key rotation.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';

const ID_BYTES = 16;
const PAYLOAD_BYTES = ID_BYTES + 1 + ID_BYTES;
const TAG_BYTES = 12;
const TOKEN_CHARS = Math.ceil(((PAYLOAD_BYTES + TAG_BYTES) * 4) / 3);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** slots are one byte; an edition has at most a few dozen links */
export const MAX_LINK_SLOT = 255;

export interface ClickClaims {
  editionId: string;
  slot: number;
  subscriberId: string;
}

export interface ClickTokens {
  sign(claims: ClickClaims): string;
  /**
   * The tokens of slots 0..count-1 for one reader of one edition: the same as sign() per slot,
   * with the ids parsed once (this runs per reader at send time).
   */
  signSlots(editionId: string, subscriberId: string, count: number): string[];
  /** the claims when the token is well formed and its tag verifies, else null */
  verify(token: string): ClickClaims | null;
}

function uuidBytes(id: string, into: Buffer, at: number): void {
  if (!UUID_RE.test(id)) throw new Error(`not a uuid: ${id}`);
  into.write(id.replace(/-/g, ''), at, ID_BYTES, 'hex');
}

function uuidOf(b: Buffer, at: number): string {
  const h = b.toString('hex', at, at + ID_BYTES);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function createClickTokens(opts: { secretKey: string; previousKey?: string }): ClickTokens {
  // a key of its own per secret, so a click tag can never be replayed as any other token's tag
  // as KeyObjects: createHmac with a raw Buffer key imports it anew on every call (per link, per reader)
  const keys = [opts.secretKey, ...(opts.previousKey ? [opts.previousKey] : [])].map((k) =>
    createSecretKey(createHmac('sha256', k).update('gazette-click-key').digest()),
  );
  const tag = (key: KeyObject, payload: Buffer) =>
    createHmac('sha256', key).update(payload).digest().subarray(0, TAG_BYTES);

  const signSlots = (editionId: string, subscriberId: string, count: number): string[] => {
    if (!Number.isInteger(count) || count < 0 || count > MAX_LINK_SLOT + 1) {
      throw new Error(`bad link count ${count}`);
    }
    const buf = Buffer.alloc(PAYLOAD_BYTES + TAG_BYTES);
    uuidBytes(editionId, buf, 0);
    uuidBytes(subscriberId, buf, ID_BYTES + 1);
    const payload = buf.subarray(0, PAYLOAD_BYTES);
    const out: string[] = [];
    for (let slot = 0; slot < count; slot++) {
      buf[ID_BYTES] = slot;
      tag(keys[0]!, payload).copy(buf, PAYLOAD_BYTES);
      out.push(buf.toString('base64url'));
    }
    return out;
  };

  return {
    sign({ editionId, slot, subscriberId }) {
      if (!Number.isInteger(slot) || slot < 0 || slot > MAX_LINK_SLOT) {
        throw new Error(`bad link slot ${slot}`);
      }
      return signSlots(editionId, subscriberId, slot + 1)[slot]!;
    },
    signSlots,
    verify(token) {
      if (typeof token !== 'string' || token.length !== TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) {
        return null;
      }
      const buf = Buffer.from(token, 'base64url');
      if (buf.length !== PAYLOAD_BYTES + TAG_BYTES) return null;
      const payload = buf.subarray(0, PAYLOAD_BYTES);
      const given = buf.subarray(PAYLOAD_BYTES);
      if (!keys.some((key) => timingSafeEqual(tag(key, payload), given))) return null;
      return { editionId: uuidOf(buf, 0), slot: buf[ID_BYTES]!, subscriberId: uuidOf(buf, ID_BYTES + 1) };
    },
  };
}
