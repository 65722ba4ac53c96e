/**
 * The benchmark's SMTP sink: a real smtp-server on loopback that accepts every message and keeps
 * only counters. It waits ~100 ms before greeting each new connection (like a remote MX), so a
 * sender that does not pool its connections pays for it.
 *
 * Runs in its own process (bench/sink-process.ts) so its CPU shows up separately from the
 * sender's; startSink() is also usable in-process.
 */
import { SMTPServer } from 'smtp-server';
import { createSinkProviders, type DomainStats, type SinkProviderRule } from './sink-providers.js';

export interface KindStats {
  count: number;
  /** epoch ms of the first and last message accepted (end of DATA) */
  firstAt: number | null;
  lastAt: number | null;
}

export interface SinkStats {
  count: number;
  bytes: number;
  connections: number;
  firstAt: number | null;
  lastAt: number | null;
  /** by the kind field of Feedback-ID (digest, alert, test) or "other" */
  kinds: Record<string, KindStats>;
  /** with tracking on: Message-IDs and recipients seen more than once */
  duplicateMessageIds: number;
  duplicateRecipients: Record<string, number>;
  /** with tracking on: messages without a Message-ID header */
  missingMessageId: number;
  tracked: boolean;
  /** per recipient domain, while the sink plays providers (sink-providers.ts; the shaping lane) */
  domains?: Record<string, DomainStats>;
}

/** A whole digest as the sink received it (tracked lane: checks its click links). */
export interface SinkSample {
  recipients: string[];
  /** the message as received (after dot-unstuffing), latin1 so it survives IPC as JSON */
  raw: string;
}

export interface SinkOptions {
  greetingDelayMs?: number;
  /** remember every Message-ID and recipient to count duplicates (smoke, gazette lane) */
  track?: boolean;
  port?: number;
}

/** at most this many samples are kept, however small sampleEvery is */
const MAX_SAMPLES = 200;

const HEADER_END = Buffer.from('\r\n\r\n');
const MESSAGE_ID = /^message-id:[ \t]*(<[^>\r\n]+>)/im;
const FEEDBACK_ID = /^feedback-id:[ \t]*[^:\r\n]*:([a-z]+):/im;

export async function startSink(opts: SinkOptions = {}) {
  const greetingDelayMs = opts.greetingDelayMs ?? 100;
  let tracked = opts.track ?? false;
  let stats = emptyStats(tracked);
  let seenIds = new Set<string>();
  // recipient -> kind -> count (a reader gets one digest and maybe one alert)
  let seenRcpt = new Map<string, number>();
  const providers = createSinkProviders();
  // every sampleEvery-th message is kept whole (0: none)
  let sampleEvery = 0;
  let seq = 0;
  let samples: SinkSample[] = [];

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    size: 0,
    maxClients: 1000,
    onConnect(_session, callback) {
      stats.connections++;
      setTimeout(() => callback(), greetingDelayMs);
    },
    onMailFrom(_address, session, callback) {
      providers.mailFrom(session);
      callback();
    },
    onRcptTo(address, session, callback) {
      callback(providers.rcpt(address.address, session) ?? undefined);
    },
    onClose(session) {
      providers.closed(session);
    },
    onData(stream, session, callback) {
      let head: Buffer | null = null;
      let bytes = 0;
      const whole: Buffer[] | null =
        sampleEvery > 0 && seq++ % sampleEvery === 0 && samples.length < MAX_SAMPLES ? [] : null;
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        whole?.push(chunk);
        // only the header section is kept, and only until its end is seen
        if (head === null) head = chunk;
        else if (head.length < 16_384 && head.indexOf(HEADER_END) < 0) head = Buffer.concat([head, chunk]);
      });
      const finish = () => {
        const now = Date.now();
        const headerText = head
          ? head.subarray(0, Math.max(0, head.indexOf(HEADER_END))).toString('latin1')
          : '';
        const kind = FEEDBACK_ID.exec(headerText)?.[1] ?? 'other';
        stats.count++;
        stats.bytes += bytes;
        stats.firstAt ??= now;
        stats.lastAt = now;
        let k = stats.kinds[kind];
        if (!k) {
          k = { count: 0, firstAt: null, lastAt: null };
          stats.kinds[kind] = k;
        }
        k.count++;
        k.firstAt ??= now;
        k.lastAt = now;
        providers.accepted(
          session,
          session.envelope.rcptTo.map((r) => r.address),
          kind,
          now,
        );
        if (whole && kind === 'digest')
          samples.push({
            recipients: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            raw: Buffer.concat(whole).toString('latin1'),
          });
        if (tracked) {
          const id = MESSAGE_ID.exec(headerText)?.[1];
          if (!id) stats.missingMessageId++;
          else if (seenIds.has(id)) stats.duplicateMessageIds++;
          else seenIds.add(id);
          for (const r of session.envelope.rcptTo) {
            const key = `${kind} ${r.address.toLowerCase()}`;
            const n = (seenRcpt.get(key) ?? 0) + 1;
            seenRcpt.set(key, n);
            if (n > 1) stats.duplicateRecipients[kind] = (stats.duplicateRecipients[kind] ?? 0) + 1;
          }
        }
        callback(null, 'queued');
      };
      stream.on('end', () => {
        const ms = providers.replyDelay(session.envelope.rcptTo.map((r) => r.address));
        if (ms > 0) setTimeout(finish, ms);
        else finish();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    stats: (): SinkStats => ({ ...structuredClone(stats), domains: providers.stats() }),
    /** plays receiving providers per recipient domain from now on ({} : none) */
    setProviders: (rules: Record<string, SinkProviderRule>) => providers.set(rules),
    /** counts recipients per kind (smoke: who got nothing) */
    recipients: (kind: string): string[] =>
      [...seenRcpt.keys()].filter((k) => k.startsWith(`${kind} `)).map((k) => k.slice(kind.length + 1)),
    /** digests kept whole since the last reset (every sampleEvery-th message) */
    samples: (): SinkSample[] => samples,
    reset(track = tracked, every = 0) {
      tracked = track;
      stats = emptyStats(track);
      seenIds = new Set();
      seenRcpt = new Map();
      providers.reset();
      sampleEvery = every;
      seq = 0;
      samples = [];
    },
    /**
     * A relay killed (relay lane): the listener stops and every connection is cut where it is, with
     * no reply; the counts stay readable.
     */
    kill(): void {
      server.server.close();
      for (const conn of (server as unknown as { connections: Set<{ _socket?: { destroy(): void } }> })
        .connections ?? [])
        conn._socket?.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // idle pooled clients would otherwise hold close() open
        for (const conn of (server as unknown as { connections: Set<{ close(): void }> }).connections ?? [])
          conn.close();
      }),
  };
}

function emptyStats(tracked: boolean): SinkStats {
  return {
    count: 0,
    bytes: 0,
    connections: 0,
    firstAt: null,
    lastAt: null,
    kinds: {},
    duplicateMessageIds: 0,
    duplicateRecipients: {},
    missingMessageId: 0,
    tracked,
  };
}

export type Sink = Awaited<ReturnType<typeof startSink>>;
