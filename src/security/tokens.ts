import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Signed tokens for links in mail and forms: base64url(payload) "." base64url(HMAC-SHA256 tag).
 * The purpose is part of the MAC input, so a token minted for one purpose never verifies for
 * another. Verification also tries SECRET_KEY_PREVIOUS, so links already in inboxes survive a
 * key rotation.
 */
export type TokenPurpose = 'confirm' | 'preferences' | 'unsubscribe' | 'form-render' | 'keep';

// 128-bit tags: ample against forgery, and they keep URLs short
const TAG_BYTES = 16;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ConfirmClaims {
  subscriberId: string;
  nonce: string;
  expiresAt: Date;
}

export interface Tokens {
  sign(purpose: TokenPurpose, payload: Buffer): string;
  /** the payload when the tag is valid under the current or the previous key, else null */
  verify(purpose: TokenPurpose, token: string): Buffer | null;
  preferences(subscriberId: string): string;
  unsubscribe(subscriberId: string): string;
  /** the re-permission mail's "yes, keep sending" link */
  keep(subscriberId: string): string;
  confirm(claims: ConfirmClaims): string;
  formRender(at: Date): string;
  verifyPreferences(token: string): string | null;
  verifyUnsubscribe(token: string): string | null;
  verifyKeep(token: string): string | null;
  /** signature only: the caller checks expiresAt against its clock */
  verifyConfirm(token: string): ConfirmClaims | null;
  verifyFormRender(token: string): Date | null;
}

export function newNonce(): string {
  return randomBytes(12).toString('hex');
}

function uuidToBytes(id: string): Buffer {
  if (!UUID_RE.test(id)) throw new Error('not a uuid');
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

function bytesToUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function createTokens(opts: { secretKey: string; previousKey?: string }): Tokens {
  const keys = [opts.secretKey, ...(opts.previousKey ? [opts.previousKey] : [])];
  const tag = (key: string, purpose: TokenPurpose, payload: Buffer) =>
    createHmac('sha256', key).update(`gazette-${purpose}\0`).update(payload).digest().subarray(0, TAG_BYTES);

  const sign = (purpose: TokenPurpose, payload: Buffer) =>
    `${payload.toString('base64url')}.${tag(keys[0]!, purpose, payload).toString('base64url')}`;

  const verify = (purpose: TokenPurpose, token: string): Buffer | null => {
    if (typeof token !== 'string' || token.length > 512) return null;
    const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
    if (!m) return null;
    const payload = Buffer.from(m[1]!, 'base64url');
    const given = Buffer.from(m[2]!, 'base64url');
    if (given.length !== TAG_BYTES) return null;
    let ok = false;
    // every key is tried, so timing does not tell which one matched
    for (const key of keys) ok = timingSafeEqual(given, tag(key, purpose, payload)) || ok;
    return ok ? payload : null;
  };

  const idToken = (purpose: TokenPurpose, id: string) => sign(purpose, uuidToBytes(id));
  const verifyId = (purpose: TokenPurpose, token: string) => {
    const p = verify(purpose, token);
    return p && p.length === 16 ? bytesToUuid(p) : null;
  };

  return {
    sign,
    verify,
    preferences: (id) => idToken('preferences', id),
    unsubscribe: (id) => idToken('unsubscribe', id),
    verifyPreferences: (t) => verifyId('preferences', t),
    verifyUnsubscribe: (t) => verifyId('unsubscribe', t),
    keep: (id) => idToken('keep', id),
    verifyKeep: (t) => verifyId('keep', t),
    confirm({ subscriberId, nonce, expiresAt }) {
      const exp = Buffer.alloc(6);
      exp.writeUIntBE(Math.floor(expiresAt.getTime() / 1000), 0, 6);
      return sign('confirm', Buffer.concat([uuidToBytes(subscriberId), Buffer.from(nonce, 'hex'), exp]));
    },
    verifyConfirm(token) {
      const p = verify('confirm', token);
      if (!p || p.length !== 16 + 12 + 6) return null;
      return {
        subscriberId: bytesToUuid(p.subarray(0, 16)),
        nonce: p.subarray(16, 28).toString('hex'),
        expiresAt: new Date(p.readUIntBE(28, 6) * 1000),
      };
    },
    formRender(at) {
      const b = Buffer.alloc(6);
      b.writeUIntBE(at.getTime(), 0, 6); // milliseconds: the minimum time-to-submit is a few seconds
      return sign('form-render', b);
    },
    verifyFormRender(token) {
      const p = verify('form-render', token);
      return p && p.length === 6 ? new Date(p.readUIntBE(0, 6)) : null;
    },
  };
}
