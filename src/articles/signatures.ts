import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureError } from './types.js';

/**
 * Webhook authenticity checks. Every check works on the raw body bytes exactly as received: a body
 * parsed and serialised again (other spacing, key order, escaping) no longer matches, by design.
 * Messages name the header and the failure, never the secret or the expected value.
 */

/** Node's IncomingHttpHeaders, or any record; names are matched case-insensitively. */
export type HeaderBag = Record<string, string | string[] | undefined>;

export const DEFAULT_TOLERANCE_SECONDS = 300;

function header(headers: HeaderBag, name: string): string | undefined {
  const wanted = name.toLowerCase();
  let found: string | string[] | undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined) {
      if (found !== undefined) throw new SignatureError(`${name}: sent more than once`);
      found = value;
    }
  }
  if (Array.isArray(found)) {
    // Two copies of an authentication header make it ambiguous which one a proxy checked.
    if (found.length > 1) throw new SignatureError(`${name}: sent more than once`);
    found = found[0];
  }
  const value = found?.trim();
  return value ? value : undefined;
}

function requireHeader(headers: HeaderBag, name: string): string {
  const value = header(headers, name);
  if (value === undefined) throw new SignatureError(`${name}: missing header`);
  return value;
}

/** Constant-time equality of two byte strings; a length difference is a mismatch, not an exception. */
function bytesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Tokens are compared through their SHA-256 digests so the comparison takes the same time whatever
 * the length of the guess (timingSafeEqual needs equal lengths and would otherwise leak it).
 */
function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function toBuffer(body: Buffer | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

function checkFreshness(name: string, sentAtMs: number, now: Date, toleranceSeconds: number): void {
  const skew = now.getTime() - sentAtMs;
  if (skew > toleranceSeconds * 1000) {
    throw new SignatureError(`${name}: timestamp is too old (more than ${toleranceSeconds} s ago)`);
  }
  if (-skew > toleranceSeconds * 1000) {
    throw new SignatureError(`${name}: timestamp is too far in the future (more than ${toleranceSeconds} s)`);
  }
}

// ---------------------------------------------------------------- Standard Webhooks (generic events)

/** The HMAC key of a Standard Webhooks secret: base64 after an optional `whsec_` prefix. */
function standardWebhookKey(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  // Buffer.from ignores invalid characters; a key that does not round-trip was mistyped.
  if (key.length === 0 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
    throw new Error('Standard Webhooks secret must be base64 (optionally prefixed with whsec_)');
  }
  return key;
}

function standardWebhookDigest(key: Buffer, id: string, timestamp: string, body: Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
}

/** The `webhook-signature` header value for a delivery (for senders, tests and the benchmark). */
export function signStandardWebhook(
  secret: string,
  id: string,
  timestamp: number | Date,
  body: Buffer | string,
): string {
  const seconds = timestamp instanceof Date ? Math.floor(timestamp.getTime() / 1000) : timestamp;
  const digest = standardWebhookDigest(standardWebhookKey(secret), id, String(seconds), toBuffer(body));
  return `v1,${digest.toString('base64')}`;
}

export interface StandardWebhookInput {
  secret: string;
  headers: HeaderBag;
  body: Buffer;
  now: Date;
  toleranceSeconds?: number;
}

/**
 * Verifies a Standard Webhooks delivery (https://www.standardwebhooks.com/): HMAC-SHA256 over
 * `${webhook-id}.${webhook-timestamp}.${body}`, any one of the space-separated `v1,<base64>` entries
 * valid (several are sent while a secret is being rotated). Returns the delivery id, which is the
 * event's de-duplication key.
 */
export function verifyStandardWebhook(input: StandardWebhookInput): { id: string; timestamp: Date } {
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const id = requireHeader(input.headers, 'webhook-id');
  const timestamp = requireHeader(input.headers, 'webhook-timestamp');
  const signatures = requireHeader(input.headers, 'webhook-signature');
  if (!/^\d{1,12}$/.test(timestamp)) {
    throw new SignatureError('webhook-timestamp: not a Unix time in seconds');
  }
  const sentAt = Number(timestamp) * 1000;
  checkFreshness('webhook-timestamp', sentAt, input.now, tolerance);

  const expected = standardWebhookDigest(standardWebhookKey(input.secret), id, timestamp, input.body);
  let sawV1 = false;
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue; // other schemes (v1a) are not ours
    sawV1 = true;
    if (bytesEqual(Buffer.from(entry.slice(comma + 1), 'base64'), expected)) {
      return { id, timestamp: new Date(sentAt) };
    }
  }
  throw new SignatureError(
    sawV1 ? 'webhook-signature: no signature matches' : 'webhook-signature: no v1 signature present',
  );
}

// ---------------------------------------------------------------- WordPress (WP Webhooks plugin)

export const WP_SIGNATURE_HEADER = 'x-wp-webhook-signature';

/** The `X-WP-Webhook-Signature` value WP Webhooks sends: base64 HMAC-SHA256 of the raw body. */
export function signWpWebhook(secret: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(toBuffer(body)).digest('base64');
}

export interface WpWebhookInput {
  secret: string;
  headers: HeaderBag;
  body: Buffer;
  /** The request's query string values; `token` is read from it. */
  query?: Record<string, unknown> | URLSearchParams;
}

/**
 * WP Webhooks signs the body when a secret is set on the webhook; plugins that cannot sign send the
 * secret as `?token=`. A request must use exactly one, so a leaked token cannot be paired with a
 * forged body that merely carries some signature header.
 */
export function verifyWpWebhook(input: WpWebhookInput): { method: 'signature' | 'token' } {
  const signature = header(input.headers, WP_SIGNATURE_HEADER);
  const token = queryValue(input.query, 'token');
  if (signature !== undefined && token !== undefined) {
    throw new SignatureError('X-WP-Webhook-Signature and ?token= both sent: use exactly one');
  }
  if (signature !== undefined) {
    const expected = createHmac('sha256', input.secret).update(input.body).digest();
    if (!bytesEqual(Buffer.from(signature, 'base64'), expected)) {
      throw new SignatureError('X-WP-Webhook-Signature: signature does not match');
    }
    return { method: 'signature' };
  }
  if (token !== undefined) {
    if (!tokensEqual(token, input.secret)) throw new SignatureError('token: does not match');
    return { method: 'token' };
  }
  throw new SignatureError('X-WP-Webhook-Signature: missing header (or ?token=)');
}

function queryValue(query: WpWebhookInput['query'], name: string): string | undefined {
  if (!query) return undefined;
  let values: unknown[];
  if (query instanceof URLSearchParams) values = query.getAll(name);
  else {
    const raw = query[name];
    values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  }
  if (values.length > 1) throw new SignatureError(`${name}: sent more than once`);
  const value = values[0];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new SignatureError(`${name}: not a string`);
  return value === '' ? undefined : value;
}

// ---------------------------------------------------------------- Ghost

export const GHOST_TOLERANCE_SECONDS = 300;

/** The `X-Ghost-Signature` value Ghost sends: `sha256=<hex of HMAC(secret, body + t)>, t=<ms>`. */
export function signGhostWebhook(secret: string, body: Buffer | string, timestampMs: number): string {
  const hex = createHmac('sha256', secret).update(toBuffer(body)).update(String(timestampMs)).digest('hex');
  return `sha256=${hex}, t=${timestampMs}`;
}

export interface GhostWebhookInput {
  secret: string;
  headers: HeaderBag;
  body: Buffer;
  now: Date;
  toleranceSeconds?: number;
}

/** Verifies Ghost's `X-Ghost-Signature` (Ghost signs the body followed directly by the ms timestamp). */
export function verifyGhostWebhook(input: GhostWebhookInput): { timestamp: Date } {
  const value = requireHeader(input.headers, 'X-Ghost-Signature');
  const parts = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const hex = parts.get('sha256');
  const t = parts.get('t');
  if (!hex || !/^[0-9a-f]{64}$/i.test(hex)) {
    throw new SignatureError('X-Ghost-Signature: no sha256=<hex> part');
  }
  if (!t || !/^\d{1,15}$/.test(t)) throw new SignatureError('X-Ghost-Signature: no t=<milliseconds> part');
  checkFreshness(
    'X-Ghost-Signature',
    Number(t),
    input.now,
    input.toleranceSeconds ?? GHOST_TOLERANCE_SECONDS,
  );
  const expected = createHmac('sha256', input.secret).update(input.body).update(t).digest();
  if (!bytesEqual(Buffer.from(hex, 'hex'), expected)) {
    throw new SignatureError('X-Ghost-Signature: signature does not match');
  }
  return { timestamp: new Date(Number(t)) };
}

// ---------------------------------------------------------------- Strapi

export interface StrapiWebhookInput {
  token: string;
  headers: HeaderBag;
  /** Header the token is configured in (`webhooks.defaultHeaders`); default `Authorization` as a Bearer token. */
  headerName?: string;
}

/**
 * Strapi does not sign webhooks; its documentation has a shared token sent in a header instead. In
 * `Authorization` the token is a Bearer credential; in any other header it is the whole value.
 */
export function verifyStrapiWebhook(input: StrapiWebhookInput): void {
  const name = input.headerName ?? 'authorization';
  const value = requireHeader(input.headers, name);
  let token = value;
  if (name.toLowerCase() === 'authorization') {
    const match = /^Bearer\s+(\S+)$/i.exec(value);
    if (!match) throw new SignatureError(`${name}: expected "Bearer <token>"`);
    token = match[1]!;
  }
  if (!tokensEqual(token, input.token)) throw new SignatureError(`${name}: token does not match`);
}
