import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * Which relays are taken out, shared by every process through one Redis hash (relay name ->
 * since and the error), so a relay one worker saw fail is left by all of them. The mailer reads
 * this process's copy on every message (no round trip on the hot path); the copy is read again
 * from Redis every `syncMs`, so a relay another process took out or brought back is followed
 * within that time. Without Redis (a mailer of its own, e.g. in a unit test) the board is local.
 */
export interface RelayState {
  /** the relay's URL without credentials, path or query (relays.ts) */
  relay: string;
  /** 0 for SMTP_URL, then each SMTP_FALLBACK_URLS entry in order */
  position: number;
  state: 'in' | 'out';
  /** when it was taken out */
  since: string | null;
  /** the failure that took it out */
  error: string | null;
}

export interface RelayBoard {
  /** this process's view (at most syncMs behind the shared one) */
  isOut(position: number): boolean;
  /** takes a relay out here at once and for every process (the write is not awaited) */
  takeOut(position: number, error: string): void;
  /** brings a relay back (it answered a health check, or accepted a message) */
  bringBack(position: number): void;
  /** every relay in order, as the shared store has it */
  states(): Promise<RelayState[]>;
  /** reads the shared store into this process's view now */
  sync(): Promise<void>;
  close(): void;
}

export interface RelayBoardOptions {
  /** the relays' redacted names, in order of preference */
  names: string[];
  redis?: Pick<Redis, 'hset' | 'hdel' | 'hgetall'>;
  /** the Redis hash (`<QUEUE_PREFIX>:relays-out`) */
  key?: string;
  syncMs?: number;
  log?: Logger;
  now?: () => Date;
}

interface Out {
  since: string;
  error: string;
}

export function relayBoardKey(queuePrefix: string): string {
  return `${queuePrefix}:relays-out`;
}

export function createRelayBoard(opts: RelayBoardOptions): RelayBoard {
  const { names, redis, log } = opts;
  const key = opts.key ?? 'relays-out';
  const now = opts.now ?? (() => new Date());
  let out = new Map<string, Out>();
  // while a write of ours is on its way, a read could undo it here: such a read is skipped
  let writing = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function write(op: () => Promise<unknown>): void {
    if (!redis) return;
    writing++;
    op()
      .catch((err) => log?.warn({ err: (err as Error).message }, 'could not store the relay state'))
      .finally(() => writing--);
  }

  async function read(): Promise<Map<string, Out>> {
    if (!redis) return out;
    const raw = await redis.hgetall(key);
    const next = new Map<string, Out>();
    for (const [name, value] of Object.entries(raw)) {
      try {
        next.set(name, JSON.parse(value) as Out);
      } catch {
        next.set(name, { since: now().toISOString(), error: 'unreadable state' });
      }
    }
    return next;
  }

  async function sync(): Promise<void> {
    const next = await read();
    if (writing === 0) out = next;
  }

  if (redis && names.length > 1) {
    const every = opts.syncMs ?? 1000;
    const loop = () => {
      timer = setTimeout(() => {
        sync()
          .catch((err) => log?.warn({ err: (err as Error).message }, 'could not read the relay state'))
          .finally(() => {
            if (!closed) loop();
          });
      }, every);
      timer.unref();
    };
    loop();
  }

  return {
    isOut: (position) => out.has(names[position] ?? ''),
    takeOut(position, error) {
      const name = names[position];
      if (name === undefined || out.has(name)) return;
      const entry = { since: now().toISOString(), error };
      out.set(name, entry);
      log?.warn({ alert: 'relay_out', relay: name, position, error }, `SMTP relay ${name} taken out`);
      write(() => redis!.hset(key, name, JSON.stringify(entry)));
    },
    bringBack(position) {
      const name = names[position];
      if (name === undefined || !out.has(name)) return;
      out.delete(name);
      log?.info({ alert: 'relay_back', relay: name, position }, `SMTP relay ${name} back in`);
      write(() => redis!.hdel(key, name));
    },
    async states() {
      const shared = await read();
      return names.map((relay, position) => {
        const o = shared.get(relay);
        return { relay, position, state: o ? 'out' : 'in', since: o?.since ?? null, error: o?.error ?? null };
      });
    },
    sync,
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
