/**
 * One webhook POST through the SSRF guard of safe-fetch.ts (checkTarget: the address actually
 * connected to must be public unless the host is in FETCH_ALLOWED_HOSTS). Redirects are not
 * followed (a 3xx is an error to retry, as Standard Webhooks senders do); a few hundred bytes of
 * the answer are kept for the delivery log.
 */
import http from 'node:http';
import https from 'node:https';
import { checkTarget, type SafeFetchPolicy } from '../articles/safe-fetch.js';

export interface PostResult {
  status: number;
  excerpt: string;
}

const EXCERPT_BYTES = 512;

export function postWebhook(
  target: string,
  body: string,
  headers: Record<string, string>,
  policy: Pick<SafeFetchPolicy, 'allowedHosts' | 'timeoutMs'>,
): Promise<PostResult> {
  const url = new URL(target);
  // throws FetchRefusedError for a scheme, credentials or a non-public literal address
  const lookup = checkTarget(url, { ...policy, maxBytes: EXCERPT_BYTES });
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: 'POST',
        lookup,
        agent: false,
        signal: AbortSignal.timeout(policy.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Gazette-Webhooks/1',
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < EXCERPT_BYTES) chunks.push(c);
          size += c.length;
          // the rest of a large answer is not read: the status is what counts
          if (size >= EXCERPT_BYTES) res.destroy();
        });
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            excerpt: Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8'),
          });
        res.on('end', done);
        res.on('close', done);
        res.on('error', () => done());
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
