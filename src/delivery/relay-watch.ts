import type { Logger } from '../logger.js';
import type { SendingPause } from './sending-pause.js';

/**
 * Every worker process that serves the bulk queues runs the relays' health check every
 * RELAY_PROBE_INTERVAL_MS (with fallbacks): every relay is probed (a connection of its own:
 * greeting, EHLO, AUTH); one failing is taken out before mail needs it, one taken out that answers is
 * brought back, so traffic returns to the primary (transport.ts, relay-board.ts). While sending is paused because no relay could be reached (sending-pause.ts, `relay`),
 * every relay is probed and sending resumes once one answers. Rows
 * held by the pause stay `pending` and their jobs spend no attempt, however long the outage; only a
 * digest that outlives DIGEST_MAX_AGE_SECONDS fails its rows (batch-sender.ts).
 */
export interface RelayWatchDeps {
  pause: Pick<SendingPause, 'relayPaused' | 'resumeAfterRelay'>;
  /** resolves when a relay accepts a connection */
  probe: () => Promise<void>;
  /** the relays' health check: takes out those failing, brings back those answering */
  checkRelays: () => Promise<void>;
  log: Logger;
  intervalMs: number;
}

export type RelayCheck = 'not paused' | 'still unreachable' | 'resumed';

export interface RelayWatch {
  /** One round: when paused for the relay, probe it and resume if it answers. */
  check(): Promise<RelayCheck>;
  /** Checks every interval until the returned function is called (nested starts share one loop). */
  start(): () => void;
}

export function createRelayWatch(deps: RelayWatchDeps): RelayWatch {
  const { pause, probe, checkRelays, log, intervalMs } = deps;
  let users = 0;
  let timer: NodeJS.Timeout | undefined;
  let lastError = '';

  async function check(): Promise<RelayCheck> {
    if (!(await pause.relayPaused())) {
      await checkRelays();
      return 'not paused';
    }
    try {
      await probe();
    } catch (err) {
      const message = (err as Error).message;
      // one line per change of cause, not one per probe
      if (message !== lastError)
        log.warn({ err: message }, 'SMTP relay still unreachable: sending stays paused');
      lastError = message;
      return 'still unreachable';
    }
    lastError = '';
    return (await pause.resumeAfterRelay()) ? 'resumed' : 'not paused';
  }

  function schedule(): void {
    timer = setTimeout(() => {
      check()
        .catch((err) => log.warn({ err: (err as Error).message }, 'relay check failed'))
        .finally(() => {
          if (users > 0) schedule();
        });
    }, intervalMs);
    timer.unref();
  }

  return {
    check,
    start() {
      users++;
      if (users === 1) schedule();
      let stopped = false;
      return () => {
        if (stopped) return;
        stopped = true;
        users--;
        if (users === 0) clearTimeout(timer);
      };
    },
  };
}
