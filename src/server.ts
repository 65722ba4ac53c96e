import { buildApp } from './app.js';
import type { Container } from './container.js';

/** The only place that listens. */
export async function startServer(container: Container) {
  const app = await buildApp(container);
  await app.listen({ port: container.config.PORT, host: container.config.HOST });
  return app;
}
