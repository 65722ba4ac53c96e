import client from 'prom-client';
import type { Queues } from './queues/definitions.js';

/** Prometheus metrics, one registry per process (tests build several containers in one process). */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'gazette_' });
  return {
    registry,
    httpRequests: new client.Histogram({
      name: 'gazette_http_request_duration_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    mailsSent: new client.Counter({
      name: 'gazette_mails_sent_total',
      help: 'Messages accepted by the SMTP server, by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    mailsFailed: new client.Counter({
      name: 'gazette_mails_failed_total',
      help: 'Messages that failed, by kind and outcome (recipient, pause, retry, ambiguous)',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    sendingPaused: new client.Gauge({
      name: 'gazette_sending_paused',
      help: '1 while sending is paused because the SMTP server refused on policy or authentication grounds',
      registers: [registry],
    }),
    bounces: new client.Counter({
      name: 'gazette_bounces_total',
      help: 'Bounce and complaint reports received, by class (hard, soft, block, complaint, auto-reply, unknown) and source (smtp, postmark, mailgun, sendgrid, standard, inbound)',
      labelNames: ['class', 'source'] as const,
      registers: [registry],
    }),
    bounceSuppressions: new client.Counter({
      name: 'gazette_bounce_suppressions_total',
      help: 'Readers suppressed by the bounce policy, by the class that decided',
      labelNames: ['class'] as const,
      registers: [registry],
    }),
    complaintRate: new client.Gauge({
      name: 'gazette_complaint_rate',
      help: 'Spam complaints per message sent within COMPLAINT_WINDOW_HOURS (0.001 = 0.1%), as last measured',
      registers: [registry],
    }),
    complaintGuardActions: new client.Counter({
      name: 'gazette_complaint_guard_actions_total',
      help: 'Times the complaint rate raised an alert (over COMPLAINT_ALERT_PERCENT) or paused sending (over COMPLAINT_PAUSE_PERCENT)',
      labelNames: ['action'] as const,
      registers: [registry],
    }),
    providerThrottles: new client.Counter({
      name: 'gazette_provider_throttles_total',
      help: 'Throttling replies (421, 4.7.x rate, TS0x) per receiving provider; each backs that provider off',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    /** per-provider backoff, read from Redis when /metrics is scraped (shaping/provider-gate.ts) */
    watchProviders(read: () => Promise<Array<{ provider: string; level: number; paused: boolean }>>) {
      new client.Gauge({
        name: 'gazette_provider_backoff_level',
        help: 'Backoff level per receiving provider: 0 at full speed, each level halves its rate; set while it pauses',
        labelNames: ['provider', 'paused'] as const,
        registers: [registry],
        async collect() {
          this.reset();
          for (const s of await read())
            this.set({ provider: s.provider, paused: s.paused ? 'yes' : 'no' }, s.level);
        },
      });
    },
    relayFailovers: new client.Counter({
      name: 'gazette_relay_failovers_total',
      help: 'Messages moved off an SMTP relay that failed before they left: it is taken out and the next relay is tried',
      labelNames: ['relay'] as const,
      registers: [registry],
    }),
    /** each relay's state, read from Redis when /metrics is scraped (mail/relay-board.ts) */
    watchRelays(read: () => Promise<Array<{ relay: string; position: number; state: 'in' | 'out' }>>) {
      new client.Gauge({
        name: 'gazette_relay_up',
        help: 'Per SMTP relay (URL without credentials; position 0 = SMTP_URL): 1 while it takes traffic, 0 while taken out',
        labelNames: ['relay', 'position'] as const,
        registers: [registry],
        async collect() {
          this.reset();
          for (const s of await read())
            this.set({ relay: s.relay, position: String(s.position) }, s.state === 'in' ? 1 : 0);
        },
      });
    },
    digestSlotsExpired: new client.Counter({
      name: 'gazette_digest_slots_expired_total',
      help: 'Reader digest slots skipped because they could not start within DIGEST_MAX_AGE_SECONDS',
      registers: [registry],
    }),
    /** held articles are counted in PostgreSQL when /metrics is scraped */
    watchHeldArticles(count: () => Promise<number>) {
      new client.Gauge({
        name: 'gazette_articles_held',
        help: 'Articles (or changes to them) held because the publication file cannot make them articles yet',
        registers: [registry],
        async collect() {
          this.set(await count());
        },
      });
    },
    /** readers paused by re-permission (src/engagement/), counted in PostgreSQL when scraped */
    watchPausedReaders(count: () => Promise<number>) {
      new client.Gauge({
        name: 'gazette_readers_paused',
        help: 'Readers paused because they did not answer the re-permission mail',
        registers: [registry],
        async collect() {
          this.set(await count());
        },
      });
    },
    /** queue depths are read from Redis when /metrics is scraped */
    watchQueues(queues: Queues) {
      new client.Gauge({
        name: 'gazette_queue_jobs',
        help: 'Jobs per queue and state',
        labelNames: ['queue', 'state'] as const,
        registers: [registry],
        async collect() {
          this.reset();
          for (const q of queues.all()) {
            const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
            for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
          }
        },
      });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
