import { createHmac } from 'node:crypto';
import { createChallenge, extractParams, verifySolution } from 'altcha-lib/v1';
import type { Payload } from 'altcha-lib/v1/types';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { SubscribeBudgets } from './budgets.js';

/**
 * Self-hosted proof-of-work on subscription requests (the ALTCHA protocol, altcha-lib's v1: find
 * the number n ≤ maxnumber with SHA-256(salt + n) = challenge; the challenge is HMAC-signed, so
 * the server keeps no state until a solution arrives). No third-party service and no cookies: the
 * browser fetches a challenge from GET /api/v1/subscriptions/challenge, solves it, and posts the
 * solution with the form (field `altcha`) or in the JSON body.
 *
 * A solution is accepted once (its challenge is remembered in Redis until it expires), only
 * before it expires (`ALTCHA_CHALLENGE_TTL_SECONDS`, on the injected clock) and only for SHA-256
 * with at most `ALTCHA_MAX_NUMBER`, so a client cannot pick an easier puzzle.
 *
 * `ALTCHA_MODE`: `off` (never asked), `always`, or `high-volume`: required while the subscription
 * requests of the current or the previous `ALTCHA_VOLUME_WINDOW_SECONDS` number more than
 * `ALTCHA_VOLUME_THRESHOLD` (challenges are handed out in this mode all the time, so a form opened
 * before a surge has its solution ready).
 */

export const POW_FIELD = 'altcha';
const ALGORITHM = 'SHA-256' as const;
const MAX_PAYLOAD = 2000;

export interface PowChallenge {
  algorithm: 'SHA-256';
  challenge: string;
  maxnumber: number;
  salt: string;
  signature: string;
}

export type PowVerdict = 'valid' | 'missing' | 'invalid' | 'expired' | 'replayed';

export type PowConfig = Pick<
  Config,
  | 'QUEUE_PREFIX'
  | 'SECRET_KEY'
  | 'ALTCHA_MODE'
  | 'ALTCHA_VOLUME_THRESHOLD'
  | 'ALTCHA_MAX_NUMBER'
  | 'ALTCHA_CHALLENGE_TTL_SECONDS'
>;

export interface ProofOfWork {
  readonly mode: Config['ALTCHA_MODE'];
  /** A fresh challenge, or null when ALTCHA_MODE is off. */
  challenge(): Promise<PowChallenge | null>;
  /** Whether a request arriving now must carry a valid solution. */
  required(): Promise<boolean>;
  /** Checks a solution and uses it up: a second use of the same challenge is `replayed`. */
  verify(payload: unknown): Promise<PowVerdict>;
}

function parsePayload(payload: string): Payload | undefined {
  try {
    const p = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
    if (
      p &&
      typeof p === 'object' &&
      typeof p.algorithm === 'string' &&
      typeof p.challenge === 'string' &&
      /^[0-9a-f]{64}$/.test(p.challenge) &&
      typeof p.signature === 'string' &&
      /^[0-9a-f]{64}$/.test(p.signature) &&
      typeof p.salt === 'string' &&
      p.salt.length <= 200 &&
      Number.isSafeInteger(p.number)
    )
      return p as Payload;
  } catch {}
  return undefined;
}

export function createProofOfWork(deps: {
  redis: Redis;
  clock: Clock;
  config: PowConfig;
  budgets: Pick<SubscribeBudgets, 'recentVolume'>;
}): ProofOfWork {
  const { redis, clock, config, budgets } = deps;
  // its own key, derived from SECRET_KEY: a challenge signature is never a valid token elsewhere
  const hmacKey = createHmac('sha256', config.SECRET_KEY).update('gazette-altcha-v1').digest('hex');
  const usedKey = (challenge: string) => `${config.QUEUE_PREFIX}-altcha-used-${challenge}`;

  return {
    mode: config.ALTCHA_MODE,

    async challenge() {
      if (config.ALTCHA_MODE === 'off') return null;
      const c = await createChallenge({
        algorithm: ALGORITHM,
        hmacKey,
        maxnumber: config.ALTCHA_MAX_NUMBER,
        expires: new Date(clock.now().getTime() + config.ALTCHA_CHALLENGE_TTL_SECONDS * 1000),
      });
      return {
        algorithm: ALGORITHM,
        challenge: c.challenge,
        maxnumber: c.maxnumber ?? config.ALTCHA_MAX_NUMBER,
        salt: c.salt,
        signature: c.signature,
      };
    },

    async required() {
      if (config.ALTCHA_MODE === 'always') return true;
      if (config.ALTCHA_MODE === 'off') return false;
      return (await budgets.recentVolume()) > config.ALTCHA_VOLUME_THRESHOLD;
    },

    async verify(payload) {
      if (payload === undefined || payload === null || payload === '') return 'missing';
      if (typeof payload !== 'string' || payload.length > MAX_PAYLOAD) return 'invalid';
      const solution = parsePayload(payload);
      if (!solution || solution.algorithm !== ALGORITHM) return 'invalid';
      if (solution.number < 0 || solution.number > config.ALTCHA_MAX_NUMBER) return 'invalid';
      // expiry is checked below against the injected clock, not by the library's Date.now()
      if (!(await verifySolution(solution, hmacKey, false))) return 'invalid';
      const expires = Number(extractParams(solution).expires) * 1000;
      const left = expires - clock.now().getTime();
      if (!Number.isFinite(left) || left <= 0) return 'expired';
      if (left > (config.ALTCHA_CHALLENGE_TTL_SECONDS + 60) * 1000) return 'invalid';
      const fresh = await redis.set(usedKey(solution.challenge), '1', 'PX', Math.ceil(left) + 1000, 'NX');
      return fresh === 'OK' ? 'valid' : 'replayed';
    },
  };
}
