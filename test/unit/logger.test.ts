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

  it('redacts by the route pattern, by token links, and by decoded query names', () => {
    expect(redactUrl('/x/abc/def', '/x/:id/:resetToken')).toBe('/x/abc/[redacted]');
    expect(redactUrl('/preferences/abc?lang=ar')).toBe('/preferences/[redacted]?lang=ar');
    expect(redactUrl('/hook?%54oKeN=s1&a=1')).toBe('/hook?%54oKeN=[redacted]&a=1');
    expect(redactUrl('/hook?my+secret=s1')).toBe('/hook?my+secret=[redacted]');
    // a name the query parser cannot decode either: nothing of it is kept
    expect(redactUrl('/hook?%E0%A4%A=s1&a=1')).toBe('/hook?[redacted]&a=1');
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
