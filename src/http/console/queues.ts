import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';

export const QUEUES_PATH = '/admin/queues';

/**
 * Bull Board over every Gazette queue at /admin/queues, inside the console's scope: the same
 * sign-in, and its buttons (retry, clean, pause a queue) for admins only (see session.ts).
 */
export async function mountBullBoard(app: FastifyInstance, container: Container): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUES_PATH);
  createBullBoard({
    queues: container.queues.all().map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Gazette' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: QUEUES_PATH });
}
