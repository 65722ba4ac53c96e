import type { Redis } from 'ioredis';
import { createFeedPoller, type FeedPoller } from './articles/feed-poller.js';
import { createIngestService, type IngestService } from './articles/ingest-service.js';
import { createNormalizePool } from './articles/normalize-pool.js';
import { allowedFetchHosts } from './articles/safe-fetch.js';
import { type ComplaintGuard, createComplaintGuard } from './bounces/complaint-guard.js';
import { createInboundProcessor, type InboundProcessor } from './bounces/inbound-processor.js';
import { createInboundListener, type InboundListener } from './bounces/inbound-smtp.js';
import { type BouncePolicy, createBouncePolicy } from './bounces/policy.js';
import type { SnsClient } from './bounces/ses-sns.js';
import { createSnsClient } from './bounces/sns-client.js';
import {
  type ClickService,
  createClickService,
  createClickTokens,
  mostReadIds,
  popularIds,
} from './clicks/index.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { migrate } from './db/migrate.js';
import { createPool, type Db, ensureDatabase } from './db/pool.js';
import { BatchLanes, FULL_SPEED_BATCHES } from './delivery/batch-lanes.js';
import { type BatchSender, createBatchSender } from './delivery/batch-sender.js';
import { createHandoffLog } from './delivery/handoff-log.js';
import type { ShapingDeps } from './delivery/provider-share.js';
import { createRelayWatch, type RelayWatch } from './delivery/relay-watch.js';
import { createSendingPause, type SendingPause } from './delivery/sending-pause.js';
import { createTokenBucket, sendRateKey, type TokenBucket } from './delivery/token-bucket.js';
import { createTransactionalSender, type TransactionalSender } from './delivery/transactional-sender.js';
import { createDigests, type Digests } from './digests/index.js';
import { createRepermission, pausedCount, type Repermission } from './engagement/index.js';
import { createImportService, type ImportService } from './imports/import-service.js';
import { createLogger, type Logger } from './logger.js';
import { DevMailbox } from './mail/dev-mailbox.js';
import { createRelayBoard, type RelayBoard, relayBoardKey } from './mail/relay-board.js';
import { redactRelayUrl, relayUrlsFor } from './mail/relays.js';
import { createMailer, type Mailer } from './mail/transport.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createOperators, type Operators } from './operators/operator-service.js';
import { createWebhookEndpoints, type WebhookEndpoints } from './outbox/endpoints.js';
import { resolveFileEndpoints, syncFileEndpoints } from './outbox/file-endpoints.js';
import { createWebhookSender, type WebhookSender } from './outbox/webhook-sender.js';
import { createOverview, type OverviewService } from './overview/overview-service.js';
import { createProviderOverview, type ProviderOverviewService } from './overview/provider-overview.js';
import type { Publication } from './publication.js';
import { createQueues, jobId, type Queues } from './queues/definitions.js';
import { createDigestEnqueuer } from './queues/digest-enqueuer.js';
import { createOwedWork, type OwedWork } from './queues/owed-work.js';
import { createRedis, waitForRedis } from './redis.js';
import { renderEdition } from './render/index.js';
import { createTokens, type Tokens } from './security/tokens.js';
import { createDnsMxLookup } from './shaping/mx-lookup.js';
import { createProviderDirectory, type ProviderDirectory } from './shaping/provider-directory.js';
import { createProviderGate, type ProviderGate } from './shaping/provider-gate.js';
import { createProviderRules } from './shaping/provider-rules.js';
import { createSubscribeBudgets, type SubscribeBudgets } from './subscriptions/budgets.js';
import { createProofOfWork, type ProofOfWork } from './subscriptions/proof-of-work.js';
import { createReaderAdmin, type ReaderAdmin } from './subscriptions/reader-admin.js';
import { createReaderData, type ReaderData } from './subscriptions/reader-data.js';
import { createSubscriptionService, type SubscriptionService } from './subscriptions/subscription-service.js';
import { type AddressHasher, createAddressHasher } from './subscriptions/suppression-store.js';

/**
 * The composition root: everything the API and the workers use is built here, once.
 *
 * Longer than 350 lines: it is the one place that wires every service (listmonk's habit); split, the
 * order of construction and of closing would be spread over several files.
 */
export interface Container {
  config: Config;
  publication: Publication;
  clock: Clock;
  log: Logger;
  db: Db;
  redis: Redis;
  queues: Queues;
  metrics: Metrics;
  mailer: Mailer;
  /** which SMTP relays are taken out, shared by every process (relay-board.ts) */
  relayBoard: RelayBoard;
  tokens: Tokens;
  /** the global messages-per-second budget shared by every sender in every worker process */
  sendBucket: TokenBucket;
  subscriptions: SubscriptionService;
  /** operator actions on one reader: lift suppression, resend confirmation, confirm by hand, search */
  readerAdmin: ReaderAdmin;
  repermission: Repermission;
  /** console operators: sign-in, lock-out, creation */
  operators: Operators;
  /** the dashboard's figures (GET /api/v1/overview) */
  overview: OverviewService;
  /** keyed hashes of addresses for the suppression list of erased readers */
  hasher: AddressHasher;
  /** CSV list import: staging, the background job, the paced confirmations, the report */
  imports: ImportService;
  /** a reader's data export and erasure */
  readerData: ReaderData;
  /** subscription budgets per client, mailbox and domain (Redis, shared by every API process) */
  subscribeBudgets: SubscribeBudgets;
  /** ALTCHA proof-of-work on subscription requests (ALTCHA_MODE) */
  proofOfWork: ProofOfWork;
  /** only outside production when SMTP_URL is unset, and only where the API runs */
  devMailbox?: DevMailbox;
  ingest: IngestService;
  feedPoller: FeedPoller;
  digests: Digests;
  /** one per process: the workers of `send` and `alerts` share its edition cache */
  batchSender: BatchSender;
  transactionalSender: TransactionalSender;
  /** the admin API reads and resumes the same pause the senders set */
  sendingPause: SendingPause;
  /** what PostgreSQL says is owed to the queues: the sweeps and the recovery after Redis lost its data */
  owedWork: OwedWork;
  relayWatch: RelayWatch;
  /** per-provider limits and backoff in Redis, shared by every worker process (GET /api/v1/sending/providers) */
  providerGate: ProviderGate;
  /** reader domains to receiving providers by MX (cached in PostgreSQL) */
  providerDirectory: ProviderDirectory;
  /** the providers' limits, backoff and waiting rows for the console (reads only) */
  providerOverview: ProviderOverviewService;
  /** stores every bounce and complaint report and decides whether it suppresses the reader */
  bounces: BouncePolicy;
  /** measures the spam-complaint rate: alert, then pause bulk sending (COMPLAINT_*_PERCENT) */
  complaintGuard: ComplaintGuard;
  /** processes the mail the inbound listener stored (bounces queue): reports, unsubscribes */
  inboundProcessor: InboundProcessor;
  /** the inbound SMTP listener (DSN/ARF mail, unsubscribe mailto), where INBOUND_SMTP_PORT is set and the process runs it */
  inboundListener?: InboundListener;
  /** fetches SNS signing certificates and confirms SNS subscriptions (Amazon SES notifications) */
  sns: SnsClient;
  /** the click redirect (/c/<token>) and its batched writes; statistics in src/clicks/click-stats.ts */
  clicks: ClickService;
  /** the CMS endpoints of outgoing webhooks (admin API) */
  webhookEndpoints: WebhookEndpoints;
  /** delivers outbox rows to those endpoints, signed (Standard Webhooks) */
  webhookSender: WebhookSender;
  close(): Promise<void>;
}

export interface ContainerOptions {
  config: Config;
  publication: Publication;
  clock?: Clock;
  log?: Logger;
  /** start the development mailbox when SMTP_URL is unset (the API process does) */
  withDevMailbox?: boolean;
  /** start the inbound listener when INBOUND_SMTP_PORT is set (`all` and `inbound` processes) */
  withInboundListener?: boolean;
  /** apply migrations at start (default true) */
  migrate?: boolean;
}

export async function createContainer(opts: ContainerOptions): Promise<Container> {
  const { config, publication } = opts;
  const log = opts.log ?? createLogger(config);
  const clock = opts.clock ?? systemClock;
  // before anything connects: a missing or malformed endpoint secret stops the boot, naming its entry
  const fileEndpoints = resolveFileEndpoints(
    publication.webhooks,
    config.WEBHOOK_OUT_SECRETS,
    `PUBLICATION_CONFIG ${config.PUBLICATION_CONFIG}`,
  );

  await ensureDatabase(config.DATABASE_URL);
  const db = createPool(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  if (opts.migrate !== false) await migrate(db, (m) => log.info(m));
  const synced = await syncFileEndpoints({ db, clock }, fileEndpoints);
  if (synced.inserted.length + synced.updated.length + synced.removed.length > 0)
    log.info(synced, 'webhook endpoints synced from the publication file');

  const redis = createRedis(config.REDIS_URL, 'producer');
  // producers fail fast, so the first command must not race the first connection
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  await waitForRedis(redis);
  const queues = createQueues(redis, config.QUEUE_PREFIX);
  const operators = createOperators({ db, clock, config });
  if (await operators.ensureFirst(config.ADMIN_EMAIL, config.ADMIN_PASSWORD))
    log.info({ email: config.ADMIN_EMAIL }, 'first operator created from ADMIN_EMAIL; sign in at /admin');
  const metrics = createMetrics();
  metrics.watchQueues(queues);

  let devMailbox: DevMailbox | undefined;
  if (opts.withDevMailbox && !config.SMTP_URL && config.NODE_ENV !== 'production') {
    devMailbox = new DevMailbox(db);
    await devMailbox.listen(config.DEV_SMTP_PORT);
    log.info({ port: config.DEV_SMTP_PORT }, 'development mailbox listening; open /dev/mailbox');
  }
  const relayBoard = createRelayBoard({
    names: relayUrlsFor(config).map(redactRelayUrl),
    redis,
    key: relayBoardKey(config.QUEUE_PREFIX),
    log: log.child({ component: 'relays' }),
    now: () => clock.now(),
  });
  metrics.watchRelays(() => relayBoard.states());
  const mailer = createMailer(config, {
    board: relayBoard,
    onFailover: (relay) => metrics.relayFailovers.inc({ relay }),
  });

  const fetchPolicy = {
    maxBytes: config.FETCH_MAX_BYTES,
    allowedHosts: allowedFetchHosts(config.FETCH_ALLOWED_HOSTS, [
      publication.sources.wordpress?.siteUrl,
      ...publication.feeds.map((f) => f.url),
    ]),
  };
  const normalizePool = createNormalizePool(publication);
  const ingest = createIngestService({
    db,
    publication,
    clock,
    queues,
    normalizePool,
    secrets: {
      generic: config.WEBHOOK_SECRET_GENERIC,
      wordpress: config.WEBHOOK_SECRET_WORDPRESS,
      ghost: config.WEBHOOK_SECRET_GHOST,
      strapi: config.WEBHOOK_SECRET_STRAPI,
    },
    toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS,
    fetchPolicy,
  });
  metrics.watchHeldArticles(() => ingest.heldCount());
  const feedPoller = createFeedPoller({
    db,
    publication,
    clock,
    ingest,
    userAgent: `Gazette/0.1 (+${config.PUBLIC_URL})`,
    defaultIntervalSeconds: config.FEED_POLL_INTERVAL_SECONDS,
    fetchPolicy,
  });
  const sendBucket = createTokenBucket({
    redis,
    key: sendRateKey(config.QUEUE_PREFIX),
    ratePerSecond: config.SEND_RATE_PER_SECOND,
  });
  const tokens = createTokens({ secretKey: config.SECRET_KEY, previousKey: config.SECRET_KEY_PREVIOUS });
  const subscribeBudgets = createSubscribeBudgets({ redis, clock, config, log });
  const proofOfWork = createProofOfWork({ redis, clock, config, budgets: subscribeBudgets });
  const enqueueTransactional = (deliveryId: number) =>
    queues
      .enqueue('transactional', 'send', { deliveryId }, { jobId: jobId('delivery', deliveryId) })
      .catch((err) =>
        log.warn(
          { deliveryId, err: (err as Error).message },
          'transactional mail stored but not enqueued (redis unreachable): the sweep enqueues it',
        ),
      );
  const hasher = createAddressHasher(config.SECRET_KEY, config.SECRET_KEY_PREVIOUS);
  const subscriptions = createSubscriptionService({
    db,
    clock,
    config,
    publication,
    tokens,
    log,
    hasher,
    budgets: subscribeBudgets,
    // The row is stored before this runs: with Redis away the request still succeeds and the
    // transactional sweep (or the recovery once Redis answers) enqueues the mail.
    enqueueDelivery: (deliveryId) => enqueueTransactional(deliveryId),
  });
  const readerAdmin = createReaderAdmin({ db, clock, enqueueDelivery: enqueueTransactional });
  const repermission = createRepermission({
    db,
    clock,
    publication,
    log: log.child({ component: 'repermission' }),
    enqueueDelivery: enqueueTransactional,
  });
  metrics.watchPausedReaders(() => pausedCount(db));
  const imports = createImportService({
    db,
    clock,
    log: log.child({ component: 'imports' }),
    publication,
    config,
    hasher,
    jobs: {
      run: (importId) =>
        queues.enqueue('imports', 'run', { importId }, { jobId: jobId('import', importId, 'run') }),
      mail: (importId, round, delayMs) =>
        queues.enqueue(
          'imports',
          'mail',
          { importId, round },
          { jobId: jobId('import', importId, 'mail', round), delay: delayMs },
        ),
      // behind every confirmation of a signup (BullMQ runs jobs without a priority first)
      confirmations: (ids) =>
        queues.enqueueBulk(
          'transactional',
          ids.map((deliveryId) => ({
            name: 'send' as const,
            data: { deliveryId },
            opts: { jobId: jobId('delivery', deliveryId), priority: 10 },
          })),
        ),
    },
  });
  const readerData = createReaderData({
    db,
    clock,
    log,
    hasher,
    jobs: {
      async removeDeliveryJobs(ids) {
        const queue = queues.get('transactional');
        let removed = 0;
        for (const id of ids) {
          const job = await queue.getJob(jobId('delivery', id));
          // an active job is locked by its worker; it finds no reader and cancels its row
          if (job && !(await job.isActive())) {
            await job.remove();
            removed++;
          }
        }
        return removed;
      },
    },
  });
  const digestEnqueuer = createDigestEnqueuer(queues, () => clock.now());
  const digests = createDigests({
    db,
    clock,
    log: log.child({ component: 'digests' }),
    publication,
    config,
    enqueuer: digestEnqueuer,
    render: renderEdition,
    // from the clicks where they are counted, else from the CMS's popularity list (if it posts one)
    mostRead: (q, edition) =>
      (publication.engagement.clickTracking ? mostReadIds : popularIds)(q, {
        ...edition,
        days: publication.engagement.mostRead.days,
        // more than shown: the renderer drops any it cannot link
        limit: publication.engagement.mostRead.items * 2,
      }),
    onExpired: (n) => metrics.digestSlotsExpired.inc(n),
  });
  const pauseControl = createSendingPause({
    redis,
    queues,
    metrics,
    log,
    clock,
    queuePrefix: config.QUEUE_PREFIX,
  });
  const complaintGuard = createComplaintGuard({
    db,
    clock,
    log: log.child({ component: 'complaints' }),
    metrics,
    pause: pauseControl,
    config,
  });
  // an operator's resume (API or console) acknowledges a complaint pause; the relay probe's does not
  const sendingPause: SendingPause = {
    ...pauseControl,
    async resume() {
      await complaintGuard.acknowledgeResume('operator');
      return pauseControl.resume();
    },
  };
  const relayWatch = createRelayWatch({
    pause: sendingPause,
    probe: () => mailer.probe(),
    checkRelays: () => mailer.checkRelays(),
    log,
    intervalMs: config.RELAY_PROBE_INTERVAL_MS,
  });
  const bounces = createBouncePolicy({ db, clock, log, metrics, config, complaints: complaintGuard });
  const enqueueInbound = (mailId: number) =>
    queues.enqueue('bounces', 'inbound', { mailId }, { jobId: jobId('inbound', mailId) });
  const inboundProcessor = createInboundProcessor({
    db,
    clock,
    log: log.child({ component: 'inbound' }),
    config,
    bounces,
    // the subscriptions domain's own path, as the https link takes it
    unsubscribe: (id, meta) => subscriptions.unsubscribe(tokens.unsubscribe(id), meta),
    enqueue: enqueueInbound,
  });
  let inboundListener: InboundListener | undefined;
  if (opts.withInboundListener && config.INBOUND_SMTP_PORT !== undefined) {
    inboundListener = createInboundListener({
      config,
      db,
      clock,
      log: log.child({ component: 'inbound' }),
      enqueue: enqueueInbound,
    });
    const port = await inboundListener.listen(config.INBOUND_SMTP_PORT);
    log.info(
      { port, domain: config.BOUNCE_DOMAIN, mailto: config.LIST_UNSUBSCRIBE_MAILTO },
      'inbound listener accepting bounce mail and unsubscribe mail',
    );
  }
  const providerRules = createProviderRules(publication.shaping, config.PROVIDER_LIMITS);
  const providerDirectory = createProviderDirectory({
    db,
    clock,
    log,
    rules: providerRules,
    lookup: createDnsMxLookup({ servers: config.MX_DNS_SERVERS, timeoutMs: config.MX_LOOKUP_TIMEOUT_MS }),
    ttlSeconds: config.MX_CACHE_SECONDS,
    failureTtlSeconds: Math.min(300, config.MX_CACHE_SECONDS),
  });
  const providerGate = createProviderGate({
    redis,
    prefix: config.QUEUE_PREFIX,
    backoffMs: config.PROVIDER_BACKOFF_MS,
    maxBackoffMs: config.PROVIDER_MAX_BACKOFF_MS,
    recoverAfter: config.PROVIDER_RECOVER_AFTER,
    leaseMs: 2 * config.JOB_LOCK_DURATION_MS + 60_000,
  });
  metrics.watchProviders(async () =>
    (await providerGate.states()).map((s) => ({
      ...s,
      paused: s.until !== null && Date.parse(s.until) > clock.now().getTime(),
    })),
  );
  const batchSender = createBatchSender({
    db,
    clock,
    log,
    metrics,
    mailer,
    tokens,
    publication,
    config,
    bucket: sendBucket,
    handoffs: createHandoffLog(redis, config.QUEUE_PREFIX),
    pause: sendingPause,
    bounces,
    alertsPending: alertsPendingProbe(queues),
    shaping: {
      directory: providerDirectory,
      gate: providerGate,
      rules: providerRules,
      recheckMs: config.PROVIDER_RECHECK_MS,
      drops: { storm: config.PROVIDER_DROP_STORM, windowMs: config.PROVIDER_DROP_WINDOW_MS },
      lanes: new BatchLanes(FULL_SPEED_BATCHES),
      ...batchQueueProbes(queues),
    },
  });
  const clicks = createClickService({
    db,
    clock,
    log: log.child({ component: 'clicks' }),
    tokens: createClickTokens({ secretKey: config.SECRET_KEY, previousKey: config.SECRET_KEY_PREVIOUS }),
    homeUrl: publication.website,
    flushIntervalMs: config.CLICK_FLUSH_INTERVAL_MS,
    batchSize: config.CLICK_BATCH_SIZE,
    burst: { windowSeconds: config.CLICK_SCANNER_WINDOW_SECONDS, links: config.CLICK_SCANNER_BURST_LINKS },
  });
  const transactionalSender = createTransactionalSender({
    db,
    clock,
    config,
    publication,
    tokens,
    mailer,
    metrics,
    log,
    sendBucket,
    bounces,
  });

  return {
    config,
    publication,
    clock,
    log,
    db,
    redis,
    queues,
    metrics,
    mailer,
    relayBoard,
    tokens,
    sendBucket,
    subscriptions,
    readerAdmin,
    repermission,
    operators,
    overview: createOverview({
      db,
      clock,
      config,
      publication,
      queues,
      sendingPause,
      lastEditions: () => digests.operator.list({ offset: 0, limit: 5 }),
    }),
    hasher,
    imports,
    readerData,
    subscribeBudgets,
    proofOfWork,
    devMailbox,
    ingest,
    feedPoller,
    digests,
    batchSender,
    providerGate,
    providerDirectory,
    providerOverview: createProviderOverview({
      db,
      clock,
      gate: providerGate,
      rules: providerRules,
      named: [...Object.keys(publication.shaping.providers), ...Object.keys(config.PROVIDER_LIMITS)],
    }),
    transactionalSender,
    sendingPause,
    owedWork: createOwedWork({ db, clock, queues, ingest, enqueuer: digestEnqueuer }),
    relayWatch,
    bounces,
    complaintGuard,
    inboundProcessor,
    inboundListener,
    sns: createSnsClient(),
    clicks,
    webhookEndpoints: createWebhookEndpoints({ db, clock }),
    webhookSender: createWebhookSender({
      db,
      clock,
      log: log.child({ component: 'webhooks' }),
      // the same guard as feeds: the CMS may be on the operator's network only if listed
      allowedHosts: allowedFetchHosts(config.FETCH_ALLOWED_HOSTS, []),
      timeoutMs: config.WEBHOOK_OUT_TIMEOUT_MS,
    }),
    async close() {
      await clicks.close();
      await normalizePool.close();
      await inboundListener?.close();
      mailer.close();
      await queues.close();
      await devMailbox?.close();
      redis.disconnect();
      await db.end();
    },
  };
}

/**
 * A read of the queues at most every 100 ms, however many batches ask; `none` (nothing waits) on a
 * Redis error.
 */
function cachedProbe<T>(read: () => Promise<T>, none: T): () => Promise<T> {
  let checkedAt = 0;
  let last = none;
  let inflight: Promise<T> | undefined;
  return async () => {
    if (performance.now() - checkedAt < 100) return last;
    inflight ??= read()
      .catch(() => none) // never hold digests back because Redis answered badly
      .then((v) => {
        last = v;
        checkedAt = performance.now();
        inflight = undefined;
        return v;
      });
    return inflight;
  };
}

/**
 * Alerts wait to run or run for the first time: bulk batches take no new rows meanwhile. An alert
 * job that came back (it waits on a throttled provider) does not count: it cycled through the
 * queue every PROVIDER_RECHECK_MS and held every digest for up to a minute at a time.
 */
function alertsPendingProbe(queues: Queues): () => Promise<boolean> {
  const alerts = queues.get('alerts');
  return cachedProbe(async () => {
    const [active, waiting] = await Promise.all([
      alerts.getActive(0, 49),
      alerts.getJobs(['waiting', 'prioritized'], 0, 49, true),
    ]);
    return active.some((j) => j && j.attemptsStarted <= 1) || waiting.some((j) => j && !j.processedOn);
  }, false);
}

/**
 * Batch jobs waiting for a slot, from one read of the send queue: `othersQueued`, jobs that never
 * ran wait (their readers of unlimited providers are still to go; for them a batch sending Gmail's
 * share gives its slot up, not for jobs that came back, which would only pass Gmail's pace around);
 * `batchesWaiting`, any job waits (a batch left waiting on another's connections gives its slot up).
 */
function batchQueueProbes(queues: Queues): Pick<ShapingDeps, 'othersQueued' | 'batchesWaiting'> {
  const send = queues.get('send');
  const read = cachedProbe(
    async () => {
      const jobs = await send.getJobs(['waiting', 'prioritized'], 0, 49, true);
      return { fresh: jobs.some((j) => j && !j.processedOn), any: jobs.some(Boolean) };
    },
    { fresh: false, any: false },
  );
  return {
    othersQueued: async () => (await read()).fresh,
    batchesWaiting: async () => (await read()).any,
  };
}
