import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { type Db, withTransaction } from '../db/pool.js';
import type { SendingPause } from '../delivery/sending-pause.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import {
  complaintFigures,
  type GuardState,
  markAlerted,
  markPaused,
  markResumed,
  readGuard,
} from './complaint-guard-store.js';

/**
 * The complaint-rate guard. Gmail and Yahoo start refusing a bulk sender whose spam-complaint rate
 * stays above 0.3%, and advise staying under 0.1%: over COMPLAINT_ALERT_PERCENT of the mail sent
 * within COMPLAINT_WINDOW_HOURS an alert is logged (and counted); over COMPLAINT_PAUSE_PERCENT bulk
 * sending is paused (SendingPause) with the figures in the reason, until an operator resumes.
 *
 * A rate over fewer than COMPLAINT_MIN_SENT messages says little (one complaint among 200 is 0.5%),
 * so below it the guard only reports. The state (alerted, paused, where the measurement starts) is
 * one row in PostgreSQL, so several processes act once. An operator's resume after a complaint pause
 * acknowledges the complaints so far: the measurement starts afresh at the resume, else the same
 * complaints, still inside the window, would pause sending again at once.
 */
export type ComplaintLevel = 'ok' | 'too-few' | 'alert' | 'pause';

export interface ComplaintStatus {
  windowHours: number;
  /** complaints and sent mail count from here (the window's start, or the last resume) */
  from: string;
  complaints: number;
  sent: number;
  /** complaints per 100 messages sent; null when nothing was sent */
  ratePercent: number | null;
  alertPercent: number;
  pausePercent: number;
  minSent: number;
  level: ComplaintLevel;
  alertedAt: string | null;
  /** set while sending stays paused by this guard (until an operator resumes) */
  pausedAt: string | null;
  resumedAt: string | null;
  resumedBy: string | null;
}

export interface ComplaintGuardDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Pick<Metrics, 'complaintRate' | 'complaintGuardActions'>;
  pause: Pick<SendingPause, 'pause' | 'status'>;
  config: Pick<
    Config,
    'COMPLAINT_ALERT_PERCENT' | 'COMPLAINT_PAUSE_PERCENT' | 'COMPLAINT_WINDOW_HOURS' | 'COMPLAINT_MIN_SENT'
  >;
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function complaintLevel(
  complaints: number,
  sent: number,
  config: ComplaintGuardDeps['config'],
): ComplaintLevel {
  if (complaints === 0) return 'ok';
  if (sent < config.COMPLAINT_MIN_SENT) return 'too-few';
  const percent = (complaints / sent) * 100;
  if (percent > config.COMPLAINT_PAUSE_PERCENT) return 'pause';
  if (percent > config.COMPLAINT_ALERT_PERCENT) return 'alert';
  return 'ok';
}

export function createComplaintGuard(deps: ComplaintGuardDeps) {
  const { db, clock, log, metrics, pause, config } = deps;
  const windowMs = config.COMPLAINT_WINDOW_HOURS * 3600_000;

  function figuresFrom(state: GuardState, now: Date): Date {
    const start = new Date(now.getTime() - windowMs);
    return state.measuredFrom && state.measuredFrom > start ? state.measuredFrom : start;
  }

  function view(state: GuardState, from: Date, complaints: number, sent: number): ComplaintStatus {
    const ratePercent = sent > 0 ? Math.round((complaints / sent) * 1e6) / 1e4 : null;
    metrics.complaintRate.set(sent > 0 ? complaints / sent : 0);
    return {
      windowHours: config.COMPLAINT_WINDOW_HOURS,
      from: from.toISOString(),
      complaints,
      sent,
      ratePercent,
      alertPercent: config.COMPLAINT_ALERT_PERCENT,
      pausePercent: config.COMPLAINT_PAUSE_PERCENT,
      minSent: config.COMPLAINT_MIN_SENT,
      level: complaintLevel(complaints, sent, config),
      alertedAt: iso(state.alertedAt),
      pausedAt: iso(state.pausedAt),
      resumedAt: iso(state.resumedAt),
      resumedBy: state.resumedBy,
    };
  }

  function pauseReason(s: { complaints: number; sent: number; from: string; ratePercent: number | null }) {
    return (
      `spam-complaint rate ${s.ratePercent}% (${s.complaints} complaints for ${s.sent} messages sent since ${s.from}) ` +
      `is over COMPLAINT_PAUSE_PERCENT=${config.COMPLAINT_PAUSE_PERCENT}%: see GET /api/v1/complaint-rate and the editions' complained counts, ` +
      'fix the cause (an unexpected list, a misleading subject, a missing unsubscribe), then POST /api/v1/sending/resume'
    );
  }

  async function run(): Promise<ComplaintStatus> {
    const now = clock.now();
    const { status, pauseNow } = await withTransaction(db, async (tx) => {
      // one process at a time decides, so an alert or a pause happens once
      const state = await readGuard(tx, true);
      const from = figuresFrom(state, now);
      const { complaints, sent } = await complaintFigures(tx, from);
      let s = view(state, from, complaints, sent);
      if ((s.level === 'alert' || s.level === 'pause') && (await markAlerted(tx, now, from))) {
        metrics.complaintGuardActions.inc({ action: 'alert' });
        log.error(
          { alert: 'complaint_rate_high', complaints, sent, ratePercent: s.ratePercent, from: s.from },
          `spam-complaint rate ${s.ratePercent}% is over COMPLAINT_ALERT_PERCENT=${config.COMPLAINT_ALERT_PERCENT}%`,
        );
        s = { ...s, alertedAt: now.toISOString() };
      }
      if (s.level === 'pause' && !state.pausedAt) {
        await markPaused(tx, now, complaints, sent);
        metrics.complaintGuardActions.inc({ action: 'pause' });
        return { status: { ...s, pausedAt: now.toISOString() }, pauseNow: true };
      }
      return { status: s, pauseNow: Boolean(state.pausedAt) };
    });
    // Also while already paused by this guard: a relay pause that came first kept its own reason,
    // and the relay probe resumes that one by itself; the complaint pause then takes over.
    if (pauseNow && !(await pause.status()).paused) await pause.pause({ reason: pauseReason(status) });
    return status;
  }

  let running: Promise<ComplaintStatus> | undefined;
  let again: Promise<ComplaintStatus> | undefined;

  /**
   * Measures and acts (alert, pause). Calls while one runs share one more run after it, so a burst
   * of complaints costs two measurements, and the last complaint is always measured.
   */
  function check(): Promise<ComplaintStatus> {
    if (!running) {
      running = run().finally(() => {
        running = undefined;
      });
      return running;
    }
    again ??= running
      .catch(() => undefined)
      .then(() => {
        again = undefined;
        return check();
      });
    return again;
  }

  return {
    check,
    /** The figures, without acting. */
    async status(): Promise<ComplaintStatus> {
      const state = await readGuard(db);
      const from = figuresFrom(state, clock.now());
      const { complaints, sent } = await complaintFigures(db, from);
      return view(state, from, complaints, sent);
    },
    /** An operator resumed sending: a complaint pause is acknowledged (true when there was one). */
    async acknowledgeResume(by: string): Promise<boolean> {
      const done = await markResumed(db, clock.now(), by);
      if (done) log.warn({ alert: 'complaint_pause_resumed', by }, 'complaint pause resumed by an operator');
      return done;
    },
  };
}

export type ComplaintGuard = ReturnType<typeof createComplaintGuard>;
