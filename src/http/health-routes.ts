import type { FastifyPluginAsync } from 'fastify';
import type { Container } from '../container.js';
import { checkEvictionPolicy, checkPersistence } from '../redis.js';
import { requireBearer } from './admin-auth.js';

export const healthRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { db, redis, metrics, log, config } = container;
  let policyWarned = false;

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const problems: string[] = [];
    const warnings: string[] = [];
    try {
      await db.query('SELECT 1');
    } catch (err) {
      problems.push(`postgres: ${(err as Error).message}`);
    }
    try {
      await redis.ping();
      const policy = await checkEvictionPolicy(redis);
      if (!policy.ok) problems.push(policy.reason);
      else if (policy.warning && !policyWarned) {
        policyWarned = true;
        log.warn(policy.warning);
      }
      if (policy.ok && policy.warning) warnings.push(policy.warning);
      const persistence = await checkPersistence(redis);
      if (persistence) warnings.push(persistence);
    } catch (err) {
      problems.push(`redis: ${(err as Error).message}`);
    }
    // warnings never fail readiness: the operator reads them, the load balancer does not
    const extra = warnings.length ? { warnings } : {};
    if (problems.length) return reply.status(503).send({ status: 'not ready', problems, ...extra });
    return { status: 'ready', ...extra };
  });

  // production without METRICS_TOKEN has no /metrics at all (404) rather than a public one
  if (config.NODE_ENV === 'production' && !config.METRICS_TOKEN) return;
  const onRequest = config.METRICS_TOKEN
    ? requireBearer(config.METRICS_TOKEN, '/metrics needs Authorization: Bearer <METRICS_TOKEN>')
    : undefined;
  app.get(
    '/metrics',
    { schema: { hide: true }, ...(onRequest ? { onRequest } : {}) },
    async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
};
