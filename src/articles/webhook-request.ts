import {
  MAX_JSON_DEPTH,
  parseGuardedJson,
  UnsafeJsonError,
  unstorableStringError,
} from '../security/json-guard.js';
import type { DeliveryContext, WebhookProvider } from './normalize/delivery.js';
import { parsePhpForm } from './normalize/php-form.js';
import {
  type HeaderBag,
  verifyGhostWebhook,
  verifyStandardWebhook,
  verifyStrapiWebhook,
  verifyWpWebhook,
} from './signatures.js';
import { PayloadError } from './types.js';

/** A CMS webhook as it arrived: its signature checked, its body read, its context kept. */

export interface WebhookRequest {
  provider: WebhookProvider;
  headers: HeaderBag;
  query: Record<string, unknown>;
  rawBody: Buffer;
}

export interface VerifyOptions {
  secret: string;
  now: Date;
  toleranceSeconds: number;
  /** Strapi's token header when the publication file names another */
  strapiTokenHeader?: string;
}

/** Throws SignatureError; the delivery id when the provider signs one (Standard Webhooks). */
export function verifyWebhook(req: WebhookRequest, options: VerifyOptions): { deliveryId?: string } {
  const { secret, now, toleranceSeconds } = options;
  switch (req.provider) {
    case 'generic':
      return {
        deliveryId: verifyStandardWebhook({
          secret,
          headers: req.headers,
          body: req.rawBody,
          now,
          toleranceSeconds,
        }).id,
      };
    case 'wordpress':
      verifyWpWebhook({ secret, headers: req.headers, body: req.rawBody, query: req.query });
      return {};
    case 'ghost':
      verifyGhostWebhook({
        secret,
        headers: req.headers,
        body: req.rawBody,
        now,
        toleranceSeconds,
      });
      return {};
    case 'strapi':
      verifyStrapiWebhook({
        token: secret,
        headers: req.headers,
        headerName: options.strapiTokenHeader,
      });
      return {};
  }
}

/** What normalizing a delivery needs besides its body; stored with a held event to apply it later. */
export function deliveryContext(
  req: WebhookRequest,
  deliveryId: string | undefined,
  receivedAt: Date,
): DeliveryContext {
  const q = (name: string) => (typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined);
  return {
    deliveryId,
    event: q('event'),
    trigger: q('trigger') ?? headerValue(req.headers, 'x-wp-webhook-trigger'),
    receivedAt: receivedAt.toISOString(),
  };
}

/**
 * The body as an object: JSON, or for WordPress a form-encoded body (WP Webhooks' "form" request
 * type), read as PHP reads it. The signature was checked on the raw bytes either way.
 */
export function parseBody(req: WebhookRequest): unknown {
  const type = headerValue(req.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  const text = req.rawBody.toString('utf8');
  if (req.provider === 'wordpress' && type === 'application/x-www-form-urlencoded') {
    // bracket keys nest (a[b][c]…): cap them like JSON before the recursive parse
    for (const key of new URLSearchParams(text).keys()) {
      if (key.split('[').length - 1 > MAX_JSON_DEPTH) {
        throw new PayloadError(
          `body: field ${key.slice(0, key.indexOf('['))} nested deeper than ${MAX_JSON_DEPTH} levels`,
        );
      }
    }
    const form = parsePhpForm(text);
    // %00 or a lone surrogate decoded from a form cannot be stored either (see json-guard.ts)
    const bad = unstorableStringError(form);
    if (bad) throw new PayloadError(bad.message);
    return form;
  }
  try {
    // depth, NUL and lone surrogates refused here, naming the field (see json-guard.ts)
    return parseGuardedJson(text);
  } catch (err) {
    if (err instanceof UnsafeJsonError) throw new PayloadError(err.message);
    throw new PayloadError(notJson(req, err as Error));
  }
}

/**
 * Why a body is not JSON, naming the sender's setting when the Content-Type says what it sent
 * instead (WP Webhooks can send form-encoded, form-data or XML bodies; Gazette reads JSON only).
 */
function notJson(req: WebhookRequest, err: Error): string {
  const type = headerValue(req.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (
    type &&
    /^(application\/x-www-form-urlencoded|multipart\/form-data|application\/xml|text\/xml)$/.test(type)
  ) {
    const hint =
      req.provider === 'wordpress'
        ? ' or form-encoded (WP Webhooks: set "Change the data request type" to JSON or form for this webhook)'
        : '';
    return `body: Content-Type ${type} is not accepted; send JSON${hint}`;
  }
  return `body: not valid JSON (${err.message})`;
}

function headerValue(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
