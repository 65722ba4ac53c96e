import type { FastifyPluginAsync } from 'fastify';
import type { Container } from '../../container.js';
import { consoleAuthRoutes } from './auth-routes.js';
import { contentPages } from './content-pages.js';
import { dashboardPage } from './dashboard-page.js';
import { editionPages } from './edition-pages.js';
import { importPages } from './import-pages.js';
import { operatorPages } from './operator-pages.js';
import { mountBullBoard } from './queues.js';
import { installConsoleSession } from './session.js';
import { subscriberPages } from './subscriber-pages.js';
import { webhookPages } from './webhook-pages.js';

/**
 * The operator console under /admin: server-rendered pages in Arabic and English over the same
 * services the admin API calls. Its own scope: the session, CSRF and sign-in hooks touch no
 * other route.
 */
export const consoleRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  await installConsoleSession(app, container);
  const opts = { container };
  await app.register(consoleAuthRoutes, opts);
  await app.register(dashboardPage, opts);
  await app.register(subscriberPages, opts);
  await app.register(importPages, opts);
  await app.register(editionPages, opts);
  await app.register(contentPages, opts);
  await app.register(webhookPages, opts);
  await app.register(operatorPages, opts);
  await mountBullBoard(app, container);
};
