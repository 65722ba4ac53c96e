import { createPublicKey } from 'node:crypto';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { MAILTO_BASE_LOCAL_MAX } from './bounces/unsubscribe-mailto.js';
import { type ProviderLimits, ProviderLimitTableSchema } from './shaping/shaping-schema.js';

/**
 * Every environment variable Gazette reads, in one schema. Nothing else reads process.env.
 * Values arrive as strings; Value.Convert turns them into numbers/booleans before the check,
 * so the first failing variable can be named in one line.
 *
 * Longer than 350 lines: every variable and every check across variables in one file, so nothing
 * else reads the environment and a boot error always names its variable the same way.
 */
const Env = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  // unset: 127.0.0.1 in development and test (the dev mailbox and token stay local), 0.0.0.0 in production
  HOST: Type.Optional(Type.String({ minLength: 1 })),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  PUBLIC_URL: Type.String({ default: 'http://localhost:3000', pattern: '^https?://[^\\s/]+' }),
  DATABASE_URL: Type.String({ default: 'postgres://localhost:5432/gazette', pattern: '^postgres(ql)?://' }),
  DATABASE_POOL_SIZE: Type.Integer({ default: 10, minimum: 1 }),
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^rediss?://' }),
  QUEUE_PREFIX: Type.String({ default: 'gazette', pattern: '^[A-Za-z0-9_-]+$' }),
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  // more relays, tried in this order when SMTP_URL (and each before) fails (docs/delivery.md "Relays")
  SMTP_FALLBACK_URLS: Type.String({ default: '' }),
  SMTP_POOL_SIZE: Type.Integer({ default: 5, minimum: 1 }),
  SMTP_MAX_MESSAGES_PER_CONNECTION: Type.Integer({ default: 1000, minimum: 1 }),
  DEV_SMTP_PORT: Type.Integer({ default: 2525, minimum: 0, maximum: 65535 }),
  MAIL_FROM: Type.Optional(Type.String({ minLength: 3 })),
  LIST_UNSUBSCRIBE_MAILTO: Type.Optional(Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$' })),
  SECRET_KEY: Type.Optional(Type.String({ minLength: 32 })),
  SECRET_KEY_PREVIOUS: Type.Optional(Type.String({ minLength: 32 })),
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  // The operator console (/admin): signed session cookies, the first operator, sign-in lock-out
  SESSION_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  SESSION_IDLE_MINUTES: Type.Integer({ default: 60, minimum: 1 }),
  SESSION_MAX_HOURS: Type.Integer({ default: 12, minimum: 1 }),
  ADMIN_EMAIL: Type.Optional(Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$' })),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 12 })),
  SIGNIN_MAX_FAILURES: Type.Integer({ default: 5, minimum: 1 }),
  SIGNIN_WINDOW_MINUTES: Type.Integer({ default: 15, minimum: 1 }),
  SIGNIN_LOCK_MINUTES: Type.Integer({ default: 15, minimum: 1 }),
  // Bearer token for /metrics; unset in production = /metrics answers 404
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  // production serves /docs only with the admin token, unless this is true
  DOCS_PUBLIC: Type.Boolean({ default: false }),
  DEFAULT_LANGUAGE: Type.Union([Type.Literal('ar'), Type.Literal('en')], { default: 'ar' }),
  PUBLICATION_CONFIG: Type.String({ default: 'config/publication.sample.json', minLength: 1 }),
  TRUST_PROXY: Type.String({ default: 'false' }),
  // Subscription flow
  CONFIRM_TOKEN_TTL_SECONDS: Type.Integer({ default: 7 * 24 * 3600, minimum: 1 }),
  CONFIRMATION_RESEND_INTERVAL_SECONDS: Type.Integer({ default: 24 * 3600, minimum: 0 }),
  FORM_MIN_SUBMIT_SECONDS: Type.Number({ default: 2, minimum: 0 }),
  RATE_LIMIT_MAX: Type.Integer({ default: 20, minimum: 1 }),
  RATE_LIMIT_WINDOW_SECONDS: Type.Integer({ default: 60, minimum: 1 }),
  // subscription bombing: budgets per normalized mailbox and per recipient domain (form and API together)
  SUBSCRIBE_MAILBOX_MAX: Type.Integer({ default: 3, minimum: 1 }),
  SUBSCRIBE_MAILBOX_WINDOW_SECONDS: Type.Integer({ default: 24 * 3600, minimum: 1 }),
  SUBSCRIBE_DOMAIN_MAX: Type.Integer({ default: 500, minimum: 1 }),
  SUBSCRIBE_DOMAIN_WINDOW_SECONDS: Type.Integer({ default: 3600, minimum: 1 }),
  // self-hosted proof-of-work (ALTCHA) on subscription requests
  ALTCHA_MODE: Type.Union([Type.Literal('off'), Type.Literal('high-volume'), Type.Literal('always')], {
    default: 'high-volume',
  }),
  ALTCHA_VOLUME_THRESHOLD: Type.Integer({ default: 200, minimum: 0 }),
  ALTCHA_VOLUME_WINDOW_SECONDS: Type.Integer({ default: 600, minimum: 1 }),
  ALTCHA_MAX_NUMBER: Type.Integer({ default: 50_000, minimum: 1000, maximum: 10_000_000 }),
  ALTCHA_CHALLENGE_TTL_SECONDS: Type.Integer({ default: 3600, minimum: 30 }),
  // Webhooks and feeds
  WEBHOOK_SECRET_GENERIC: Type.Optional(Type.String({ minLength: 1 })),
  // the CMS's popularity list for "most read" where clicks are not counted (Standard Webhooks)
  WEBHOOK_SECRET_POPULARITY: Type.Optional(Type.String({ minLength: 1 })),
  WEBHOOK_SECRET_WORDPRESS: Type.Optional(Type.String({ minLength: 1 })),
  WEBHOOK_SECRET_GHOST: Type.Optional(Type.String({ minLength: 1 })),
  WEBHOOK_SECRET_STRAPI: Type.Optional(Type.String({ minLength: 1 })),
  WEBHOOK_BODY_LIMIT_BYTES: Type.Integer({ default: 1024 * 1024, minimum: 1024 }),
  WEBHOOK_TOLERANCE_SECONDS: Type.Integer({ default: 300, minimum: 1 }),
  FEED_POLL_INTERVAL_SECONDS: Type.Integer({ default: 300, minimum: 1 }),
  // feed and WordPress fetches: body cap, and hosts allowed on private addresses (comma-separated)
  FETCH_MAX_BYTES: Type.Integer({ default: 10 * 1024 * 1024, minimum: 1024 }),
  FETCH_ALLOWED_HOSTS: Type.String({ default: '' }),
  // Outgoing webhooks to the CMS (Standard Webhooks): attempts, first retry delay (doubling), timeout
  WEBHOOK_OUT_ATTEMPTS: Type.Integer({ default: 12, minimum: 1, maximum: 30 }),
  WEBHOOK_OUT_RETRY_BASE_MS: Type.Integer({ default: 45_000, minimum: 1 }),
  WEBHOOK_OUT_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100 }),
  WEBHOOK_OUT_SWEEP_INTERVAL_MS: Type.Integer({ default: 5_000, minimum: 100 }),
  // Digests and delivery
  IMMEDIATE_WINDOW_SECONDS: Type.Integer({ default: 120, minimum: 1 }),
  PLANNER_INTERVAL_SECONDS: Type.Integer({ default: 60, minimum: 1 }),
  MAINTENANCE_INTERVAL_SECONDS: Type.Integer({ default: 60, minimum: 1 }),
  DIGEST_MAX_AGE_SECONDS: Type.Integer({ default: 6 * 3600, minimum: 60 }),
  DELIVERY_BATCH_SIZE: Type.Integer({ default: 500, minimum: 1 }),
  PLANNER_CHUNK_SIZE: Type.Integer({ default: 5000, minimum: 1 }),
  DIGEST_ARRIVAL_GRACE_SECONDS: Type.Integer({ default: 600, minimum: 0 }),
  DELIVERY_RETENTION_DAYS: Type.Integer({ default: 90, minimum: 1 }),
  // click redirects (publication.engagement.clickTracking): clicks are written in batches
  CLICK_FLUSH_INTERVAL_MS: Type.Integer({ default: 1000, minimum: 10 }),
  CLICK_BATCH_SIZE: Type.Integer({ default: 500, minimum: 1 }),
  // scanner bursts: this many different links of one message within this many seconds of delivery
  CLICK_SCANNER_WINDOW_SECONDS: Type.Integer({ default: 10, minimum: 0 }),
  CLICK_SCANNER_BURST_LINKS: Type.Integer({ default: 3, minimum: 2 }),
  SEND_RATE_PER_SECOND: Type.Number({ default: 0, minimum: 0 }),
  // messages composed and in flight per send job; each is a row a crash may leave ambiguous (handoff-log.ts)
  SEND_CONCURRENCY: Type.Integer({ default: 8, minimum: 1 }),
  SEND_CLAIM_SIZE: Type.Integer({ default: 32, minimum: 1 }), // ledger rows taken per status-lock round trip
  // digest batch jobs a send worker runs at once: two at full speed (batch-lanes.ts), the others
  // meanwhile on throttled or connection-limited providers' rows only, at those providers' pace
  SEND_BATCH_JOBS: Type.Integer({ default: 8, minimum: 2 }),
  // while sending is paused because the SMTP relay could not be reached: how often to probe it
  RELAY_PROBE_INTERVAL_MS: Type.Integer({ default: 15_000, minimum: 50 }),
  // Traffic shaping per receiving provider (docs/delivery.md "Providers"): limits as JSON over the
  // publication file's, the DNS servers for MX lookups (empty = the system's), backoff timings
  PROVIDER_LIMITS: Type.String({ default: '' }),
  MX_DNS_SERVERS: Type.String({ default: '' }),
  MX_LOOKUP_TIMEOUT_MS: Type.Integer({ default: 2000, minimum: 50 }),
  MX_CACHE_SECONDS: Type.Integer({ default: 24 * 3600, minimum: 60 }),
  PROVIDER_BACKOFF_MS: Type.Integer({ default: 30_000, minimum: 10 }),
  PROVIDER_MAX_BACKOFF_MS: Type.Integer({ default: 15 * 60_000, minimum: 10 }),
  PROVIDER_RECOVER_AFTER: Type.Integer({ default: 100, minimum: 1 }),
  PROVIDER_RECHECK_MS: Type.Integer({ default: 1000, minimum: 10 }),
  // connections lost mid-transaction to one provider within the window that make it back off
  PROVIDER_DROP_STORM: Type.Integer({ default: 3, minimum: 1 }),
  PROVIDER_DROP_WINDOW_MS: Type.Integer({ default: 60_000, minimum: 10 }),
  DKIM_DOMAIN: Type.Optional(Type.String({ minLength: 1 })),
  DKIM_SELECTOR: Type.Optional(Type.String({ minLength: 1 })),
  DKIM_PRIVATE_KEY: Type.Optional(Type.String({ minLength: 1 })),
  DKIM_PRIVATE_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  // Bounces and complaints (docs/bounces.md)
  BOUNCE_SOFT_LIMIT: Type.Integer({ default: 3, minimum: 1 }),
  BOUNCE_SOFT_WINDOW_DAYS: Type.Integer({ default: 15, minimum: 1 }),
  // the complaint-rate guard: alert over ALERT, pause bulk sending over PAUSE (percent of mail sent)
  COMPLAINT_ALERT_PERCENT: Type.Number({ default: 0.1, exclusiveMinimum: 0, maximum: 100 }),
  COMPLAINT_PAUSE_PERCENT: Type.Number({ default: 0.3, exclusiveMinimum: 0, maximum: 100 }),
  COMPLAINT_WINDOW_HOURS: Type.Integer({ default: 24, minimum: 1, maximum: 24 * 30 }),
  COMPLAINT_MIN_SENT: Type.Integer({ default: 1000, minimum: 1 }),
  // relay webhooks: each unset = its /api/v1/bounces/<relay> endpoint answers 404
  BOUNCE_POSTMARK_CREDENTIALS: Type.Optional(Type.String({ pattern: '^[^:\\s]+:\\S{16,}$' })),
  BOUNCE_MAILGUN_SIGNING_KEY: Type.Optional(Type.String({ minLength: 16 })),
  BOUNCE_SENDGRID_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 32 })),
  // Amazon SES through SNS: the topic ARNs (comma-separated) whose notifications are accepted
  BOUNCE_SES_TOPIC_ARNS: Type.Optional(Type.String({ pattern: '^arn:aws[a-z-]*:sns:' })),
  BOUNCE_WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: '^(whsec_)?[A-Za-z0-9+/]{16,}={0,2}$' })),
  // VERP return paths and the domain the inbound listener takes bounce mail for
  BOUNCE_DOMAIN: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$' })),
  // the inbound SMTP listener (DSN/ARF mail, the List-Unsubscribe mailto): unset port = off
  INBOUND_SMTP_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  INBOUND_SMTP_HOST: Type.Optional(Type.String({ minLength: 1 })),
  INBOUND_SMTP_MAX_BYTES: Type.Integer({
    default: 1024 * 1024,
    minimum: 10 * 1024,
    maximum: 50 * 1024 * 1024,
  }),
  INBOUND_SMTP_MAX_CLIENTS: Type.Integer({ default: 50, minimum: 1 }),
  INBOUND_SMTP_MAX_PER_IP: Type.Integer({ default: 5, minimum: 1 }),
  INBOUND_SMTP_MAX_MESSAGES: Type.Integer({ default: 1000, minimum: 1 }),
  // both set = STARTTLS offered with this certificate (PEM files)
  INBOUND_SMTP_TLS_CERT_FILE: Type.Optional(Type.String({ minLength: 1 })),
  INBOUND_SMTP_TLS_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  // List import: upload cap, and how many confirmation mails an import may create per minute
  IMPORT_MAX_BYTES: Type.Integer({ default: 512 * 1024 * 1024, minimum: 1024 }),
  IMPORT_CONFIRMATIONS_PER_MINUTE: Type.Integer({ default: 600, minimum: 1 }),
  // Worker tuning
  WORKER_QUEUES: Type.String({ default: 'all' }),
  JOB_LOCK_DURATION_MS: Type.Integer({ default: 30_000, minimum: 100 }),
  JOB_STALLED_INTERVAL_MS: Type.Integer({ default: 30_000, minimum: 100 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100 }),
  // how often every process checks that Redis still holds its data (queues/redis-watch.ts)
  REDIS_CHECK_INTERVAL_MS: Type.Integer({ default: 10_000, minimum: 100 }),
});

export type RawEnv = Static<typeof Env>;

/** Old name -> current name; the old one is read when the current one is unset. */
const DEPRECATED_NAMES: Array<[string, keyof RawEnv]> = [
  ['BOUNCE_SMTP_PORT', 'INBOUND_SMTP_PORT'],
  ['BOUNCE_SMTP_HOST', 'INBOUND_SMTP_HOST'],
  ['BOUNCE_SMTP_MAX_BYTES', 'INBOUND_SMTP_MAX_BYTES'],
];

export interface Config
  extends Omit<
    RawEnv,
    | 'HOST'
    | 'SECRET_KEY'
    | 'ADMIN_TOKEN'
    | 'SESSION_SECRET'
    | 'TRUST_PROXY'
    | 'PROVIDER_LIMITS'
    | 'MX_DNS_SERVERS'
    | 'SMTP_FALLBACK_URLS'
  > {
  /** the fallback relays' URLs, in order (SMTP_URL is the primary) */
  SMTP_FALLBACK_URLS: string[];
  HOST: string;
  /** per-provider limits from the environment (shaping-schema.ts), over the publication file's */
  PROVIDER_LIMITS: Record<string, ProviderLimits>;
  /** `ip` or `ip:port` entries */
  MX_DNS_SERVERS: string[];
  SECRET_KEY: string;
  ADMIN_TOKEN: string;
  /** encrypts and signs the console's session cookie */
  SESSION_SECRET: string;
  /** fastify's trustProxy option: false, true, a hop count, or addresses/CIDRs */
  TRUST_PROXY: boolean | number | string[];
  /**
   * WEBHOOK_OUT_SECRET_<NAME> variables, by full name: the whsec_ secrets of the outgoing webhook
   * endpoints in the publication file, which names them (`secretEnv`) instead of holding them
   */
  WEBHOOK_OUT_SECRETS: Record<string, string>;
  /** non-fatal remarks to log once at boot */
  warnings: string[];
}

/** The family of variables the publication file's `webhooks[].secretEnv` may name. */
export const WEBHOOK_OUT_SECRET_PREFIX = 'WEBHOOK_OUT_SECRET_';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const DEV_SECRET = 'gazette-development-secret-key-not-for-production';
const DEV_ADMIN_TOKEN = 'gazette-dev-admin-token';
const DEV_SESSION_SECRET = 'gazette-development-session-secret-not-for-production';

const STRONG_SECRET_HINT = 'at least 32 random characters, e.g. `openssl rand -base64 48`';

/**
 * Why a production secret is unsafe, or undefined. Length alone lets "xxxx…" or a padded dev value
 * through, so the known development values and low-variety strings are refused too: 32 random
 * base64 characters have about 26 distinct symbols, a string with fewer than 16 is not random.
 */
export function weakSecretReason(value: string): string | undefined {
  if (
    value === DEV_SECRET ||
    value === DEV_ADMIN_TOKEN ||
    value === DEV_SESSION_SECRET ||
    value.includes('gazette-dev')
  )
    return 'is the development value printed in the source';
  if (value.length < 32) return `is ${value.length} characters`;
  if (new Set(value).size < 16) return `has only ${new Set(value).size} distinct characters`;
  return undefined;
}

function firstError(schema: TSchema, value: unknown): string | undefined {
  const first = Value.Errors(schema, value).First();
  if (!first) return undefined;
  const name = first.path.replace(/^\//, '').replace(/\//g, '.');
  return `${name || 'value'}: ${first.message}`;
}

/** Validates an object against a schema, filling defaults; throws a ConfigError naming the field. */
export function parseWithSchema<T extends TSchema>(schema: T, input: unknown, label: string): Static<T> {
  const value = Value.Default(schema, Value.Convert(schema, Value.Clone(input)));
  const error = firstError(schema, value);
  if (error) throw new ConfigError(`${label} ${error}`);
  return value as Static<T>;
}

/** A relay's URL as an error may show it: no user, password, path or query. */
function relayShown(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/**
 * SMTP_URL must parse; SMTP_FALLBACK_URLS: comma-separated smtp:// or smtps:// URLs. An error names the entry by its
 * place and host, never with its credentials.
 */
function parseFallbackUrls(raw: string, primary: string | undefined): string[] {
  const label = 'environment variable SMTP_FALLBACK_URLS';
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const seen = new Set<string>();
  if (primary !== undefined) {
    try {
      seen.add(relayShown(new URL(primary)));
    } catch {
      throw new ConfigError('environment variable SMTP_URL: not a URL');
    }
  }
  if (entries.length === 0) return [];
  if (primary === undefined) throw new ConfigError(`${label}: needs SMTP_URL (the primary relay) as well`);
  return entries.map((entry, i) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new ConfigError(`${label}: entry ${i + 1} is not a URL`);
    }
    const shown = relayShown(url);
    if ((url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '')
      throw new ConfigError(
        `${label}: entry ${i + 1} (${shown}) is not an smtp:// or smtps:// URL with a host`,
      );
    if (seen.has(shown))
      throw new ConfigError(`${label}: entry ${i + 1} (${shown}) names a relay already listed`);
    seen.add(shown);
    return entry;
  });
}

function parseProviderLimits(raw: string): Record<string, ProviderLimits> {
  const label = 'environment variable PROVIDER_LIMITS';
  let input: unknown = {};
  try {
    if (raw.trim() !== '') input = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${label}: not JSON; e.g. {"gmail":{"perSecond":300}}`);
  }
  return parseWithSchema(ProviderLimitTableSchema, input, label);
}

function parseTrustProxy(raw: string): boolean | number | string[] {
  const v = raw.trim();
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const known = Object.keys(Env.properties);
  const input: Record<string, string> = {};
  for (const key of known) {
    const v = source[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const warnings: string[] = [];
  // the names before issue 16 settled on INBOUND_SMTP_*: still read, with a warning
  for (const [old, name] of DEPRECATED_NAMES) {
    const v = source[old];
    if (v === undefined || v === '') continue;
    if (input[name] === undefined) input[name] = v;
    warnings.push(`${old} is deprecated: rename it ${name}`);
  }
  const env = parseWithSchema(Env, input, 'environment variable');
  // unset, it follows PORT: links in mail and the hosted form's address must reach this server
  if (input.PUBLIC_URL === undefined) env.PUBLIC_URL = `http://localhost:${env.PORT}`;
  const production = env.NODE_ENV === 'production';

  if (production && !env.SMTP_URL)
    throw new ConfigError('environment variable SMTP_URL: required when NODE_ENV=production');
  if (production && !env.SECRET_KEY)
    throw new ConfigError(
      'environment variable SECRET_KEY: required when NODE_ENV=production (at least 32 characters)',
    );
  if (production && !env.ADMIN_TOKEN)
    throw new ConfigError(
      'environment variable ADMIN_TOKEN: required when NODE_ENV=production (at least 16 characters)',
    );
  if (!['development', 'test'].includes(env.NODE_ENV)) {
    const secrets = [
      'SECRET_KEY',
      'SECRET_KEY_PREVIOUS',
      'ADMIN_TOKEN',
      'METRICS_TOKEN',
      'SESSION_SECRET',
    ] as const;
    for (const name of secrets) {
      const value = env[name];
      const reason = value === undefined ? undefined : weakSecretReason(value);
      if (reason)
        throw new ConfigError(
          `environment variable ${name}: unsafe for NODE_ENV=${env.NODE_ENV}: ${reason} (need ${STRONG_SECRET_HINT})`,
        );
    }
  }
  if (production && !env.SESSION_SECRET)
    throw new ConfigError(
      'environment variable SESSION_SECRET: required when NODE_ENV=production (at least 32 characters); it protects the console sessions',
    );
  const host = env.HOST ?? (production ? '0.0.0.0' : '127.0.0.1');
  if (!production && !env.ADMIN_TOKEN && !isLoopback(host))
    warnings.push(
      `HOST=${host} exposes the development ADMIN_TOKEN and /dev/mailbox beyond this machine: set ADMIN_TOKEN or HOST=127.0.0.1`,
    );
  if (production && !env.METRICS_TOKEN)
    warnings.push('METRICS_TOKEN is not set: /metrics answers 404 (set it and scrape with a Bearer token)');
  if (production && !env.PUBLIC_URL.startsWith('https://')) {
    warnings.push(
      'PUBLIC_URL is not https: Gmail and Yahoo ignore one-click List-Unsubscribe over plain http',
    );
  }
  if (!env.SECRET_KEY) warnings.push('SECRET_KEY is not set: using the built-in development key');
  if (!env.ADMIN_TOKEN)
    warnings.push(`ADMIN_TOKEN is not set: using the development token "${DEV_ADMIN_TOKEN}"`);
  // the relays' keys are checked here, so a wrong one stops the boot with its name
  const whsec = env.BOUNCE_WEBHOOK_SECRET?.replace(/^whsec_/, '');
  if (
    whsec &&
    Buffer.from(whsec, 'base64').toString('base64').replace(/=+$/, '') !== whsec.replace(/=+$/, '')
  )
    throw new ConfigError('environment variable BOUNCE_WEBHOOK_SECRET: not base64 after whsec_');
  if (env.BOUNCE_SENDGRID_PUBLIC_KEY) {
    const key = env.BOUNCE_SENDGRID_PUBLIC_KEY.trim();
    try {
      if (key.startsWith('-----BEGIN')) createPublicKey(key);
      else createPublicKey({ key: Buffer.from(key, 'base64'), format: 'der', type: 'spki' });
    } catch (err) {
      throw new ConfigError(
        `environment variable BOUNCE_SENDGRID_PUBLIC_KEY: not a public key (${(err as Error).message})`,
      );
    }
  }
  if (env.COMPLAINT_PAUSE_PERCENT < env.COMPLAINT_ALERT_PERCENT)
    throw new ConfigError(
      'environment variable COMPLAINT_PAUSE_PERCENT: must not be below COMPLAINT_ALERT_PERCENT (the alert comes first)',
    );
  if (env.INBOUND_SMTP_PORT !== undefined && !env.BOUNCE_DOMAIN && !env.LIST_UNSUBSCRIBE_MAILTO)
    throw new ConfigError(
      'environment variable INBOUND_SMTP_PORT: needs BOUNCE_DOMAIN or LIST_UNSUBSCRIBE_MAILTO (the mail it accepts)',
    );
  if ((env.INBOUND_SMTP_TLS_CERT_FILE === undefined) !== (env.INBOUND_SMTP_TLS_KEY_FILE === undefined))
    throw new ConfigError(
      'environment variable INBOUND_SMTP_TLS_CERT_FILE: STARTTLS needs INBOUND_SMTP_TLS_CERT_FILE and INBOUND_SMTP_TLS_KEY_FILE together',
    );
  const mailtoLocal = env.LIST_UNSUBSCRIBE_MAILTO?.split('@')[0] ?? '';
  if (mailtoLocal.length > MAILTO_BASE_LOCAL_MAX || mailtoLocal.includes('+'))
    throw new ConfigError(
      `environment variable LIST_UNSUBSCRIBE_MAILTO: the part before @ must be at most ${MAILTO_BASE_LOCAL_MAX} characters without "+" (each reader's address adds +<reader>-<tag>)`,
    );
  if (env.LIST_UNSUBSCRIBE_MAILTO && env.INBOUND_SMTP_PORT === undefined)
    warnings.push(
      'LIST_UNSUBSCRIBE_MAILTO is set but INBOUND_SMTP_PORT is not: mail to it must reach a Gazette inbound listener to unsubscribe anyone',
    );
  if (production && !env.BOUNCE_DOMAIN)
    warnings.push(
      'BOUNCE_DOMAIN is not set: bounces that arrive as mail go to the From mailbox and are never processed (docs/bounces.md)',
    );
  if (!env.SESSION_SECRET)
    warnings.push('SESSION_SECRET is not set: console sessions use the built-in development key');
  if ((env.ADMIN_EMAIL === undefined) !== (env.ADMIN_PASSWORD === undefined))
    throw new ConfigError(
      'environment variable ADMIN_EMAIL: ADMIN_EMAIL and ADMIN_PASSWORD make the first operator together; set both or neither',
    );
  const dkimSet = [
    env.DKIM_DOMAIN,
    env.DKIM_SELECTOR,
    env.DKIM_PRIVATE_KEY ?? env.DKIM_PRIVATE_KEY_FILE,
  ].filter(Boolean).length;
  if (dkimSet !== 0 && dkimSet !== 3) {
    throw new ConfigError(
      'environment variable DKIM_DOMAIN: DKIM needs DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY (or DKIM_PRIVATE_KEY_FILE) together',
    );
  }

  return {
    ...env,
    HOST: host,
    PUBLIC_URL: env.PUBLIC_URL.replace(/\/+$/, ''),
    SECRET_KEY: env.SECRET_KEY ?? DEV_SECRET,
    ADMIN_TOKEN: env.ADMIN_TOKEN ?? DEV_ADMIN_TOKEN,
    SESSION_SECRET: env.SESSION_SECRET ?? DEV_SESSION_SECRET,
    TRUST_PROXY: parseTrustProxy(env.TRUST_PROXY),
    PROVIDER_LIMITS: parseProviderLimits(env.PROVIDER_LIMITS),
    SMTP_FALLBACK_URLS: parseFallbackUrls(env.SMTP_FALLBACK_URLS, env.SMTP_URL),
    MX_DNS_SERVERS: env.MX_DNS_SERVERS.split(',').flatMap((x) => (x.trim() ? [x.trim()] : [])),
    WEBHOOK_OUT_SECRETS: Object.fromEntries(
      Object.entries(source).filter(
        (e): e is [string, string] => e[0].startsWith(WEBHOOK_OUT_SECRET_PREFIX) && !!e[1],
      ),
    ),
    warnings,
  };
}
