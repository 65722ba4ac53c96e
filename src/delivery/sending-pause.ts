import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Queues } from '../queues/definitions.js';

/**
 * Sending stops as a whole when the relay refuses on policy or authentication grounds (5.7.x,
 * EAUTH, a misconfiguration): every further message would fail the same way and a burst of
 * refusals hurts the sender's reputation. The bulk queues (`send`, `alerts`) are paused globally
 * in BullMQ, so no worker anywhere takes another batch, and the reason is kept in Redis for the
 * admin API until an operator resumes.
 *
 * A relay that cannot be reached (refused, timed out, reset before DATA) pauses the same way, but
 * marked `relay`: it is nobody's fault and needs nobody, so relay-watch.ts probes the relay and
 * resumes once it answers. An operator can still resume earlier.
 */
export const PAUSED_QUEUES = ['send', 'alerts'] as const;

export interface PauseReason {
  reason: string;
  editionId?: string;
  batch?: number;
  error?: string;
  /** the relay could not be reached: resumed by the relay probe once it answers */
  relay?: boolean;
}

export interface SendingStatus {
  paused: boolean;
  reason: string | null;
  since: string | null;
  editionId: string | null;
  error: string | null;
  queues: Record<(typeof PAUSED_QUEUES)[number], boolean>;
}

export interface SendingPauseDeps {
  redis: Redis;
  queues: Queues;
  metrics: Metrics;
  log: Logger;
  clock: Clock;
  queuePrefix: string;
}

export interface SendingPause {
  /** Pauses the bulk queues; the first reason is kept until resume. Returns true for the first. */
  pause(reason: PauseReason): Promise<boolean>;
  resume(): Promise<SendingStatus>;
  status(): Promise<SendingStatus>;
  /** True while sending is paused because the relay could not be reached. */
  relayPaused(): Promise<boolean>;
  /** Resumes only a pause for an unreachable relay (never a policy or operator pause); true if it did. */
  resumeAfterRelay(): Promise<boolean>;
}

export function sendingPauseKey(queuePrefix: string): string {
  return `${queuePrefix}:sending-paused`;
}

export function createSendingPause(deps: SendingPauseDeps): SendingPause {
  const { redis, queues, metrics, log, clock } = deps;
  const key = sendingPauseKey(deps.queuePrefix);

  async function status(): Promise<SendingStatus> {
    const [raw, ...flags] = await Promise.all([
      redis.get(key),
      ...PAUSED_QUEUES.map((q) => queues.get(q).isPaused()),
    ]);
    const info = raw ? (JSON.parse(raw as string) as PauseReason & { since: string }) : undefined;
    const queueFlags = Object.fromEntries(
      PAUSED_QUEUES.map((q, i) => [q, Boolean(flags[i])]),
    ) as SendingStatus['queues'];
    const paused = Boolean(info) || Object.values(queueFlags).some(Boolean);
    // this process's gauge follows what Redis says, whoever paused or resumed
    metrics.sendingPaused.set(paused ? 1 : 0);
    return {
      paused,
      reason: info?.reason ?? (paused ? 'paused by an operator' : null),
      since: info?.since ?? null,
      editionId: info?.editionId ?? null,
      error: info?.error ?? null,
      queues: queueFlags,
    };
  }

  async function stored(): Promise<(PauseReason & { since: string }) | undefined> {
    const raw = await redis.get(key);
    return raw ? (JSON.parse(raw) as PauseReason & { since: string }) : undefined;
  }

  async function resumeQueues(): Promise<void> {
    await Promise.all(PAUSED_QUEUES.map((q) => queues.get(q).resume()));
    await redis.del(key);
  }

  return {
    async pause(reason) {
      const since = clock.now().toISOString();
      const first = (await redis.set(key, JSON.stringify({ ...reason, since }), 'NX')) === 'OK';
      await Promise.all(PAUSED_QUEUES.map((q) => queues.get(q).pause()));
      metrics.sendingPaused.set(1);
      if (first) {
        log.error(
          { alert: 'sending_paused', ...reason, since },
          `sending paused: ${reason.reason}; resume with POST /api/v1/sending/resume once fixed`,
        );
      } else {
        log.warn({ ...reason }, 'sending already paused');
      }
      return first;
    },
    async resume() {
      await resumeQueues();
      log.info({ alert: 'sending_resumed' }, 'sending resumed');
      return status();
    },
    status,
    async relayPaused() {
      return (await stored())?.relay === true;
    },
    async resumeAfterRelay() {
      const info = await stored();
      if (info?.relay !== true) return false;
      await resumeQueues();
      metrics.sendingPaused.set(0);
      log.info(
        { alert: 'sending_resumed', since: info.since, error: info.error },
        'sending resumed: the SMTP relay answers again',
      );
      return true;
    },
  };
}
