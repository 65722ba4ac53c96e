import { describe, expect, it } from 'vitest';
import {
  SignatureError,
  signGhostWebhook,
  signStandardWebhook,
  signWpWebhook,
  verifyGhostWebhook,
  verifyStandardWebhook,
  verifyStrapiWebhook,
  verifyWpWebhook,
} from '../../../src/articles/index.js';

const body = Buffer.from('{"type":"article.published","data":{"title":"خبر عاجل"}}', 'utf8');
const now = new Date('2024-05-20T10:00:00Z');
const ts = Math.floor(now.getTime() / 1000);
const secret = `whsec_${Buffer.from('gazette-test-signing-key-32-bytes!').toString('base64')}`;
const otherSecret = `whsec_${Buffer.from('another-key-entirely-different!!').toString('base64')}`;

function expectSignatureError(fn: () => unknown, message: RegExp) {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SignatureError);
  expect((caught as SignatureError).code).toBe('GZ_BAD_SIGNATURE');
  expect((caught as Error).message).toMatch(message);
  expect((caught as Error).message).not.toContain('whsec_');
  return caught as SignatureError;
}

function standardHeaders(over: Record<string, string | undefined> = {}) {
  return {
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(ts),
    'webhook-signature': signStandardWebhook(secret, 'msg_1', ts, body),
    ...over,
  };
}

describe('Standard Webhooks', () => {
  it('accepts a valid delivery and returns its id and time', () => {
    const result = verifyStandardWebhook({ secret, headers: standardHeaders(), body, now });
    expect(result).toEqual({ id: 'msg_1', timestamp: new Date(ts * 1000) });
  });

  it('matches header names case-insensitively', () => {
    const headers = {
      'Webhook-Id': 'msg_1',
      'Webhook-Timestamp': String(ts),
      'Webhook-Signature': standardHeaders()['webhook-signature'],
    };
    expect(verifyStandardWebhook({ secret, headers, body, now }).id).toBe('msg_1');
  });

  it('rejects a one-byte body change', () => {
    const changed = Buffer.from(body);
    changed[changed.length - 2] = changed[changed.length - 2]! ^ 1;
    expectSignatureError(
      () => verifyStandardWebhook({ secret, headers: standardHeaders(), body: changed, now }),
      /no signature matches/,
    );
  });

  it('rejects the same JSON re-serialised with different spacing', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
    expect(reserialised.equals(body)).toBe(false);
    expectSignatureError(
      () => verifyStandardWebhook({ secret, headers: standardHeaders(), body: reserialised, now }),
      /no signature matches/,
    );
  });

  it('rejects a signature made with another secret', () => {
    const headers = standardHeaders({
      'webhook-signature': signStandardWebhook(otherSecret, 'msg_1', ts, body),
    });
    expectSignatureError(() => verifyStandardWebhook({ secret, headers, body, now }), /no signature matches/);
  });

  it('rejects a stale or future timestamp beyond the tolerance, both directions', () => {
    const old = ts - 301;
    const oldHeaders = standardHeaders({
      'webhook-timestamp': String(old),
      'webhook-signature': signStandardWebhook(secret, 'msg_1', old, body),
    });
    expectSignatureError(() => verifyStandardWebhook({ secret, headers: oldHeaders, body, now }), /too old/);
    const future = ts + 301;
    const futureHeaders = standardHeaders({
      'webhook-timestamp': String(future),
      'webhook-signature': signStandardWebhook(secret, 'msg_1', future, body),
    });
    expectSignatureError(
      () => verifyStandardWebhook({ secret, headers: futureHeaders, body, now }),
      /future/,
    );
    // A configured tolerance widens the window.
    expect(verifyStandardWebhook({ secret, headers: oldHeaders, body, now, toleranceSeconds: 600 }).id).toBe(
      'msg_1',
    );
  });

  it('names each missing header', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      expectSignatureError(
        () => verifyStandardWebhook({ secret, headers: standardHeaders({ [name]: undefined }), body, now }),
        new RegExp(`${name}: missing header`),
      );
    }
  });

  it('accepts a rotated key: two v1 entries, the second valid', () => {
    const stale = signStandardWebhook(otherSecret, 'msg_1', ts, body);
    const fresh = signStandardWebhook(secret, 'msg_1', ts, body);
    const headers = standardHeaders({ 'webhook-signature': `${stale} ${fresh}` });
    expect(verifyStandardWebhook({ secret, headers, body, now }).id).toBe('msg_1');
  });

  it('signs the id too: a replay under another id fails', () => {
    expectSignatureError(
      () => verifyStandardWebhook({ secret, headers: standardHeaders({ 'webhook-id': 'msg_2' }), body, now }),
      /no signature matches/,
    );
  });
});

describe('WP Webhooks', () => {
  const wpSecret = 'wp-secret-برمز';
  it('accepts the base64 HMAC of the raw body', () => {
    const headers = { 'X-WP-Webhook-Signature': signWpWebhook(wpSecret, body) };
    expect(verifyWpWebhook({ secret: wpSecret, headers, body })).toEqual({ method: 'signature' });
  });

  it('rejects a changed body, a wrong secret and a re-serialised body', () => {
    const headers = { 'x-wp-webhook-signature': signWpWebhook(wpSecret, body) };
    const changed = Buffer.concat([body, Buffer.from(' ')]);
    expectSignatureError(
      () => verifyWpWebhook({ secret: wpSecret, headers, body: changed }),
      /does not match/,
    );
    expectSignatureError(() => verifyWpWebhook({ secret: 'other', headers, body }), /does not match/);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 1));
    expectSignatureError(
      () => verifyWpWebhook({ secret: wpSecret, headers, body: reserialised }),
      /does not match/,
    );
  });

  it('accepts ?token= equal to the secret, and rejects a wrong one', () => {
    expect(verifyWpWebhook({ secret: wpSecret, headers: {}, body, query: { token: wpSecret } })).toEqual({
      method: 'token',
    });
    expect(
      verifyWpWebhook({
        secret: wpSecret,
        headers: {},
        body,
        query: new URLSearchParams({ token: wpSecret }),
      }),
    ).toEqual({ method: 'token' });
    expectSignatureError(
      () => verifyWpWebhook({ secret: wpSecret, headers: {}, body, query: { token: 'guess' } }),
      /token: does not match/,
    );
  });

  it('requires exactly one method', () => {
    const headers = { 'x-wp-webhook-signature': signWpWebhook(wpSecret, body) };
    expectSignatureError(
      () => verifyWpWebhook({ secret: wpSecret, headers, body, query: { token: wpSecret } }),
      /exactly one/,
    );
    const err = expectSignatureError(
      () => verifyWpWebhook({ secret: wpSecret, headers: {}, body }),
      /missing header/,
    );
    expect(err.message).not.toContain(wpSecret);
  });
});

describe('Ghost', () => {
  const ghostSecret = 'ghost-webhook-secret';
  const t = now.getTime();
  it('accepts sha256 of body followed by t', () => {
    const headers = { 'x-ghost-signature': signGhostWebhook(ghostSecret, body, t) };
    expect(verifyGhostWebhook({ secret: ghostSecret, headers, body, now })).toEqual({ timestamp: now });
  });

  it('rejects a changed body, a wrong secret, a stale t and a missing header', () => {
    const headers = { 'x-ghost-signature': signGhostWebhook(ghostSecret, body, t) };
    expectSignatureError(
      () =>
        verifyGhostWebhook({
          secret: ghostSecret,
          headers,
          body: Buffer.concat([body, Buffer.from('x')]),
          now,
        }),
      /does not match/,
    );
    expectSignatureError(() => verifyGhostWebhook({ secret: 'nope', headers, body, now }), /does not match/);
    const stale = { 'x-ghost-signature': signGhostWebhook(ghostSecret, body, t - 5 * 60_000 - 1) };
    expectSignatureError(
      () => verifyGhostWebhook({ secret: ghostSecret, headers: stale, body, now }),
      /too old/,
    );
    expectSignatureError(
      () => verifyGhostWebhook({ secret: ghostSecret, headers: {}, body, now }),
      /X-Ghost-Signature: missing header/,
    );
  });

  it('rejects a t that was changed after signing', () => {
    const signed = signGhostWebhook(ghostSecret, body, t);
    const headers = { 'x-ghost-signature': signed.replace(`t=${t}`, `t=${t + 1}`) };
    expectSignatureError(
      () => verifyGhostWebhook({ secret: ghostSecret, headers, body, now }),
      /does not match/,
    );
  });
});

describe('Strapi', () => {
  it('accepts the configured Bearer token and rejects others', () => {
    expect(() =>
      verifyStrapiWebhook({ token: 'strapi-token', headers: { authorization: 'Bearer strapi-token' } }),
    ).not.toThrow();
    expectSignatureError(
      () => verifyStrapiWebhook({ token: 'strapi-token', headers: { authorization: 'Bearer strapi-tokem' } }),
      /does not match/,
    );
    expectSignatureError(
      () => verifyStrapiWebhook({ token: 'strapi-token', headers: { authorization: 'strapi-token' } }),
      /Bearer/,
    );
    expectSignatureError(
      () => verifyStrapiWebhook({ token: 'strapi-token', headers: {} }),
      /authorization: missing header/,
    );
  });

  it('reads a configured header name as the whole token', () => {
    expect(() =>
      verifyStrapiWebhook({
        token: 't0k',
        headers: { 'X-Gazette-Token': 't0k' },
        headerName: 'x-gazette-token',
      }),
    ).not.toThrow();
    expectSignatureError(
      () =>
        verifyStrapiWebhook({
          token: 't0k',
          headers: { authorization: 'Bearer t0k' },
          headerName: 'x-gazette-token',
        }),
      /missing header/,
    );
  });
});
