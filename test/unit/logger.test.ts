import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from '../../src/logger.js';

describe('request logs', () => {
  it('redacts token and secret query values', () => {
    expect(redactUrl('/webhooks/wordpress?token=s3cr3t&trigger=post_update')).toBe(
      '/webhooks/wordpress?token=[redacted]&trigger=post_update',
    );
    expect(redactUrl('/api/v1/editions/1/preview?lang=ar&TOKEN=abc')).toBe(
      '/api/v1/editions/1/preview?lang=ar&TOKEN=[redacted]',
    );
  });

  it('never writes a ?token= of a request through Fastify', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ LOG_LEVEL: 'info', NODE_ENV: 'test' }, sink);
    const app = Fastify({ loggerInstance: log });
    app.get('/hook', async () => 'ok');
    await app.inject('/hook?token=wp-secret-value');
    await app.close();
    expect(lines.join('')).toContain('token=[redacted]');
    expect(lines.join('')).not.toContain('wp-secret-value');
  });
});
