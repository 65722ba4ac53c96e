import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { GazetteError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * Budgets against subscription bombing. Anyone may ask for a subscription, so an attacker can make
 * Gazette mail confirmations to a victim (or to a whole domain) from many addresses and many IPs.
 * Three counters bound that, shared by the hosted form, embedded forms and the JSON API and kept in
 * Redis so every API process counts together:
 *
 * - per client IP (`RATE_LIMIT_MAX` per `RATE_LIMIT_WINDOW_SECONDS`): over it, 429;
 * - per mailbox (`SUBSCRIBE_MAILBOX_MAX`): `victim+1@…`, `v.i.c.t.i.m@gmail.com` and `Victim@…` are
 *   one mailbox, so plus-addressed variants from many IPs still reach one inbox this many times;
 * - per recipient domain (`SUBSCRIBE_DOMAIN_MAX`).
 *
 * Over the mailbox or domain budget the request is answered like any other (so it tells nothing
 * about the address) and nothing is stored or sent. Windows are fixed and follow the injected
 * clock; each counter expires from Redis one window after its own.
 */

/** Domains whose mailboxes ignore dots in the local part. */
const DOTLESS_DOMAINS = new Set(['gmail.com', 'googlemail.com']);

/**
 * The mailbox an address delivers to, as far as Gazette can tell: lower-cased, the `+tag` removed,
 * and for Gmail the dots removed and googlemail.com folded into gmail.com. Input is an address as
 * normalizeEmail() returns it (domain already lower-case punycode).
 */
export function mailboxOf(address: string): { mailbox: string; domain: string } {
  const lower = address.toLowerCase();
  const at = lower.lastIndexOf('@');
  let local = lower.slice(0, at);
  let domain = lower.slice(at + 1);
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  if (DOTLESS_DOMAINS.has(domain)) {
    local = local.replace(/\./g, '');
    domain = 'gmail.com';
  }
  return { mailbox: `${local}@${domain}`, domain };
}

export type BudgetConfig = Pick<
  Config,
  | 'QUEUE_PREFIX'
  | 'RATE_LIMIT_MAX'
  | 'RATE_LIMIT_WINDOW_SECONDS'
  | 'SUBSCRIBE_MAILBOX_MAX'
  | 'SUBSCRIBE_MAILBOX_WINDOW_SECONDS'
  | 'SUBSCRIBE_DOMAIN_MAX'
  | 'SUBSCRIBE_DOMAIN_WINDOW_SECONDS'
  | 'ALTCHA_VOLUME_WINDOW_SECONDS'
>;

export interface SubscribeBudgets {
  /**
   * Counts one request from this client; throws a 429 GazetteError when over the budget. Every
   * request also counts towards the recent volume, refused ones included: a flood that is turned
   * away for want of a proof-of-work must keep the proof required.
   */
  takeClient(ip: string): Promise<void>;
  /**
   * Counts one request for this address against its mailbox and its domain. False: over budget,
   * send nothing.
   */
  takeRecipient(
    address: string,
  ): Promise<{ allowed: true } | { allowed: false; budget: 'mailbox' | 'domain' }>;
  /** Subscription requests in the current volume window or the one before, whichever is more. */
  recentVolume(): Promise<number>;
}

export const rateLimited = (retryAfterSeconds: number) =>
  Object.assign(
    new GazetteError(
      'GZ_RATE_LIMITED',
      'too many subscription requests from this address; wait and retry',
      429,
    ),
    { retryAfterSeconds },
  );

export function createSubscribeBudgets(deps: {
  redis: Redis;
  clock: Clock;
  config: BudgetConfig;
  log?: Logger;
}): SubscribeBudgets {
  const { redis, clock, config, log } = deps;
  const prefix = `${config.QUEUE_PREFIX}-budget-`;
  // the identity is hashed: no address or IP sits in Redis in clear, and keys stay short
  const id = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 22);
  const windowOf = (seconds: number) => {
    const ms = seconds * 1000;
    const now = clock.now().getTime();
    const index = Math.floor(now / ms);
    return { index, ms, retryAfter: Math.max(1, Math.ceil(((index + 1) * ms - now) / 1000)) };
  };

  /**
   * One more hit in this window; the count so far, this one included. With Redis unreachable the
   * request is let through (0): a reader stored now is mailed when Redis is back (the
   * transactional sweep), and the per-address resend interval, kept in PostgreSQL, still holds
   * a bomber to one mail per address.
   */
  async function hit(kind: string, who: string, seconds: number): Promise<number> {
    try {
      return await count(kind, who, seconds);
    } catch (err) {
      log?.warn(
        { err: (err as Error).message, budget: kind },
        'subscribe budget not counted: redis unreachable',
      );
      return 0;
    }
  }

  async function count(kind: string, who: string, seconds: number): Promise<number> {
    const w = windowOf(seconds);
    const key = `${prefix}${kind}-${id(who)}-${w.index}`;
    // kept for two windows, so the previous window can still be read (recentVolume)
    const result = await redis
      .multi()
      .set(key, '0', 'PX', 2 * w.ms, 'NX')
      .incr(key)
      .exec();
    const [err, count] = result?.[1] ?? [new Error('budget counter: no reply')];
    if (err) throw err;
    return Number(count);
  }

  return {
    async takeClient(ip) {
      await hit('volume', 'all', config.ALTCHA_VOLUME_WINDOW_SECONDS);
      const count = await hit('client', ip, config.RATE_LIMIT_WINDOW_SECONDS);
      if (count > config.RATE_LIMIT_MAX)
        throw rateLimited(windowOf(config.RATE_LIMIT_WINDOW_SECONDS).retryAfter);
    },

    async takeRecipient(address) {
      const { mailbox, domain } = mailboxOf(address);
      if (
        (await hit('mailbox', mailbox, config.SUBSCRIBE_MAILBOX_WINDOW_SECONDS)) >
        config.SUBSCRIBE_MAILBOX_MAX
      )
        return { allowed: false, budget: 'mailbox' };
      if ((await hit('domain', domain, config.SUBSCRIBE_DOMAIN_WINDOW_SECONDS)) > config.SUBSCRIBE_DOMAIN_MAX)
        return { allowed: false, budget: 'domain' };
      return { allowed: true };
    },

    async recentVolume() {
      const w = windowOf(config.ALTCHA_VOLUME_WINDOW_SECONDS);
      const key = (i: number) => `${prefix}volume-${id('all')}-${i}`;
      const [current, previous] = await redis.mget(key(w.index), key(w.index - 1)).catch(() => [null, null]);
      return Math.max(Number(current ?? 0), Number(previous ?? 0));
    },
  };
}
