import type { Redis } from 'ioredis';
import { createFeedPoller, type FeedPoller } from './articles/feed-poller.js';
import { createIngestService, type IngestService } from './articles/ingest-service.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { migrate } from './db/migrate.js';
import { createPool, type Db, ensureDatabase } from './db/pool.js';
import { createTokenBucket, sendRateKey, type TokenBucket } from './delivery/token-bucket.js';
import { createLogger, type Logger } from './logger.js';
import { DevMailbox } from './mail/dev-mailbox.js';
import { createMailer, type Mailer } from './mail/transport.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { Publication } from './publication.js';
import { createQueues, jobId, type Queues } from './queues/definitions.js';
import { createRedis, waitForRedis } from './redis.js';
import { createTokens, type Tokens } from './security/tokens.js';
import { createSubscriptionService, type SubscriptionService } from './subscriptions/subscription-service.js';

/** The composition root: everything the API and the workers use is built here, once. */
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
  tokens: Tokens;
  /** the global messages-per-second budget shared by every sender in every worker process */
  sendBucket: TokenBucket;
  subscriptions: SubscriptionService;
  /** only outside production when SMTP_URL is unset, and only where the API runs */
  devMailbox?: DevMailbox;
  ingest: IngestService;
  feedPoller: FeedPoller;
  close(): Promise<void>;
}

export interface ContainerOptions {
  config: Config;
  publication: Publication;
  clock?: Clock;
  log?: Logger;
  /** start the development mailbox when SMTP_URL is unset (the API process does) */
  withDevMailbox?: boolean;
  /** apply migrations at start (default true) */
  migrate?: boolean;
}

export async function createContainer(opts: ContainerOptions): Promise<Container> {
  const { config, publication } = opts;
  const log = opts.log ?? createLogger(config);
  const clock = opts.clock ?? systemClock;

  await ensureDatabase(config.DATABASE_URL);
  const db = createPool(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  if (opts.migrate !== false) await migrate(db, (m) => log.info(m));

  const redis = createRedis(config.REDIS_URL, 'producer');
  // producers fail fast, so the first command must not race the first connection
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  await waitForRedis(redis);
  const queues = createQueues(redis, config.QUEUE_PREFIX);
  const metrics = createMetrics();
  metrics.watchQueues(queues);

  let devMailbox: DevMailbox | undefined;
  if (opts.withDevMailbox && !config.SMTP_URL && config.NODE_ENV !== 'production') {
    devMailbox = new DevMailbox();
    await devMailbox.listen(config.DEV_SMTP_PORT);
    log.info({ port: config.DEV_SMTP_PORT }, 'development mailbox listening; open /dev/mailbox');
  }
  const mailer = createMailer(config);

  const ingest = createIngestService({
    db,
    publication,
    clock,
    queues,
    secrets: {
      generic: config.WEBHOOK_SECRET_GENERIC,
      wordpress: config.WEBHOOK_SECRET_WORDPRESS,
      ghost: config.WEBHOOK_SECRET_GHOST,
      strapi: config.WEBHOOK_SECRET_STRAPI,
    },
    toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS,
  });
  const feedPoller = createFeedPoller({
    db,
    publication,
    clock,
    ingest,
    userAgent: `Gazette/0.1 (+${config.PUBLIC_URL})`,
    defaultIntervalSeconds: config.FEED_POLL_INTERVAL_SECONDS,
  });
  const sendBucket = createTokenBucket({
    redis,
    key: sendRateKey(config.QUEUE_PREFIX),
    ratePerSecond: config.SEND_RATE_PER_SECOND,
  });
  const tokens = createTokens({ secretKey: config.SECRET_KEY, previousKey: config.SECRET_KEY_PREVIOUS });
  const subscriptions = createSubscriptionService({
    db,
    clock,
    config,
    publication,
    tokens,
    log,
    enqueueDelivery: (deliveryId) =>
      queues.enqueue('transactional', 'send', { deliveryId }, { jobId: jobId('delivery', deliveryId) }),
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
    tokens,
    sendBucket,
    subscriptions,
    devMailbox,
    ingest,
    feedPoller,
    async close() {
      mailer.close();
      await queues.close();
      await devMailbox?.close();
      redis.disconnect();
      await db.end();
    },
  };
}
