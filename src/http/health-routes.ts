import type { FastifyPluginAsync } from 'fastify';
import type { Container } from '../container.js';
import { checkEvictionPolicy } from '../redis.js';

export const healthRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { db, redis, metrics, log } = container;
  let policyWarned = false;

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const problems: string[] = [];
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
    } catch (err) {
      problems.push(`redis: ${(err as Error).message}`);
    }
    if (problems.length) return reply.status(503).send({ status: 'not ready', problems });
    return { status: 'ready' };
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};
