import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { publicationFile } from './publication-file.js';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/**
 * A real HTTP receiver in the test process. `answer` decides each request's status (by arrival
 * number, from 1); returning 'hold' keeps the request open (a worker killed mid-request).
 */
export async function startWebhookReceiver(
  answer: (n: number, body: string) => number | 'hold' | Promise<number> = () => 200,
) {
  const received: ReceivedWebhook[] = [];
  const held: ServerResponse[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = await answer(++n, body);
      if (status === 'hold') {
        received.push({ headers: req.headers, body, status: 0 });
        held.push(res);
        return;
      }
      received.push({ headers: req.headers, body, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    received,
    /** answered 2xx, by webhook-id */
    delivered: (id: string) =>
      received.filter((r) => r.headers['webhook-id'] === id && r.status >= 200 && r.status < 300),
    async close() {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The environment of a Gazette whose publication file names one endpoint, "cms", at `url` (its
 * secret in WEBHOOK_OUT_SECRET_CMS), with loopback addresses allowed so a receiver can answer.
 */
export function fileEndpointEnv(url: string, events: string[]): Record<string, string> {
  return {
    FETCH_ALLOWED_HOSTS: '127.0.0.1',
    WEBHOOK_OUT_SECRET_CMS: `whsec_${randomBytes(32).toString('base64')}`,
    PUBLICATION_CONFIG: publicationFile({
      webhooks: [{ id: 'cms', url, events, secretEnv: 'WEBHOOK_OUT_SECRET_CMS' }],
    }),
  };
}
