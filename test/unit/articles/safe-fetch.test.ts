import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allowedFetchHosts,
  FetchRefusedError,
  isNonPublicAddress,
  type SafeFetchPolicy,
  safeFetch,
} from '../../../src/articles/safe-fetch.js';

describe('isNonPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '[::1]',
    'fe80::1',
    'fe80::1%eth0',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '::ffff:10.0.0.1',
    '64:ff9b::10.0.0.1',
    '64:ff9b::a00:1',
    'not-an-address',
  ])('%s is not public', (address) => {
    expect(isNonPublicAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '93.184.216.34',
    '172.32.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('%s is public', (address) => {
    expect(isNonPublicAddress(address)).toBe(false);
  });
});

describe('allowedFetchHosts', () => {
  it('takes the listed hosts and the hosts of configured URLs, lower-cased, without brackets', () => {
    expect(
      [
        ...allowedFetchHosts(' CMS.internal ,, [fd00::5]', [
          'http://127.0.0.1:8080/feed',
          undefined,
          'http://[::1]:9/x',
          'nonsense',
        ]),
      ].sort(),
    ).toEqual(['127.0.0.1', '::1', 'cms.internal', 'fd00::5']);
  });
});

describe('safeFetch', () => {
  let server: Server;
  let other: Server;
  let base: string;
  let otherBase: string;
  let endlessClosed: (early: boolean) => void = () => {};
  const served = { streamedBytes: 0 };

  function routes(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? '';
    if (url === '/ok') return res.writeHead(200, { 'content-type': 'text/plain' }).end('مرحبا');
    if (url === '/declared-huge') {
      // declares 400 MB; the client must give up before reading
      res.writeHead(200, { 'content-length': String(400 * 1024 * 1024) });
      res.write(Buffer.alloc(64 * 1024, 0x61));
      return;
    }
    if (url === '/endless') {
      // chunked, no length: writes until the client hangs up
      res.writeHead(200, { 'content-type': 'application/rss+xml' });
      const chunk = Buffer.alloc(16 * 1024, 0x62);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) served.streamedBytes += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => endlessClosed(!res.writableFinished));
      return pump();
    }
    if (url === '/gzip') {
      return res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.from('<rss>خبر</rss>')));
    }
    if (url === '/br') {
      return res
        .writeHead(200, { 'content-encoding': 'br' })
        .end(brotliCompressSync(Buffer.from('{"id":1}')));
    }
    if (url === '/gzip-bomb') {
      // 16 MB of zeros in about 16 KB on the wire, under the cap as sent
      return res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(16 * 1024 * 1024)));
    }
    if (url === '/stall') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
      return; // never ends
    }
    if (url === '/compress') return res.writeHead(200, { 'content-encoding': 'compress' }).end('x');
    if (url === '/same-origin') return res.writeHead(301, { location: '/ok' }).end();
    if (url === '/loop') return res.writeHead(302, { location: '/loop' }).end();
    if (url === '/elsewhere') return res.writeHead(302, { location: `${otherBase}/ok` }).end();
    if (url === '/not-modified') return res.writeHead(304).end();
    return res.writeHead(404).end('no');
  }

  beforeAll(async () => {
    server = createServer(routes);
    other = createServer((_req, res) => res.writeHead(200).end('other origin'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // same address, another origin (another port)
    otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server?.close();
    other?.close();
  });

  const policy = (over: Partial<SafeFetchPolicy> = {}): SafeFetchPolicy => ({
    maxBytes: 1024 * 1024,
    timeoutMs: 5000,
    allowedHosts: new Set(['127.0.0.1']),
    ...over,
  });

  it('fetches from a configured host and decodes nothing it was not asked to', async () => {
    const res = await safeFetch(`${base}/ok`, policy());
    expect(res.status).toBe(200);
    expect(res.body.toString('utf8')).toBe('مرحبا');
    expect(res.header('Content-Type')).toBe('text/plain');
  });

  it('refuses loopback, by literal and by name, unless the host was configured', async () => {
    await expect(safeFetch(`${base}/ok`, policy({ allowedHosts: new Set() }))).rejects.toThrow(
      FetchRefusedError,
    );
    const port = (server.address() as AddressInfo).port;
    // "localhost" resolves to a loopback address: refused in the socket's lookup
    await expect(
      safeFetch(`http://localhost:${port}/ok`, policy({ allowedHosts: new Set() })),
    ).rejects.toThrow(/non-public address/);
    await expect(
      safeFetch(`http://[::ffff:127.0.0.1]:${port}/ok`, policy({ allowedHosts: new Set() })),
    ).rejects.toThrow(/non-public address/);
    const viaName = await safeFetch(
      `http://localhost:${port}/ok`,
      policy({ allowedHosts: new Set(['localhost']) }),
    );
    expect(viaName.status).toBe(200);
  });

  it('refuses a declared Content-Length over the cap before reading the body', async () => {
    await expect(safeFetch(`${base}/declared-huge`, policy())).rejects.toThrow(
      /Content-Length 419430400 is over/,
    );
  });

  it('stops reading an undeclared body at the cap and hangs up', async () => {
    const cap = 256 * 1024;
    const closed = new Promise<boolean>((r) => {
      endlessClosed = r;
    });
    await expect(safeFetch(`${base}/endless`, policy({ maxBytes: cap }))).rejects.toThrow(
      /body larger than 262144 bytes/,
    );
    // the server saw the client hang up mid-stream
    expect(await closed).toBe(true);
  });

  it('decodes gzip and brotli, and caps the decoded size (a gzip bomb stops at the cap)', async () => {
    expect(new TextDecoder().decode((await safeFetch(`${base}/gzip`, policy())).body)).toBe('<rss>خبر</rss>');
    expect((await safeFetch(`${base}/br`, policy())).body.toString()).toBe('{"id":1}');
    await expect(safeFetch(`${base}/gzip-bomb`, policy())).rejects.toThrow(/body larger than 1048576 bytes/);
    await expect(safeFetch(`${base}/compress`, policy())).rejects.toThrow(/unsupported Content-Encoding/);
  });

  it('a timeout mid-body is a plain (transient) error, not a refusal', async () => {
    const err = await safeFetch(`${base}/stall`, policy({ timeoutMs: 300 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(FetchRefusedError);
  });

  it('follows same-origin redirects, refuses other origins and endless loops', async () => {
    const res = await safeFetch(`${base}/same-origin`, policy());
    expect(res.url).toBe(`${base}/ok`);
    expect(res.body.toString()).toBe('مرحبا');
    await expect(safeFetch(`${base}/elsewhere`, policy())).rejects.toThrow(/redirect to another origin/);
    await expect(safeFetch(`${base}/loop`, policy())).rejects.toThrow(/more than 3 redirects/);
  });

  it('returns error statuses and 304 without a body, and refuses other schemes', async () => {
    expect((await safeFetch(`${base}/missing`, policy())).status).toBe(404);
    const nm = await safeFetch(`${base}/not-modified`, policy());
    expect(nm.status).toBe(304);
    expect(nm.body.length).toBe(0);
    await expect(safeFetch('file:///etc/passwd', policy())).rejects.toThrow(FetchRefusedError);
    await expect(safeFetch(`http://user:pw@127.0.0.1:1/`, policy())).rejects.toThrow(FetchRefusedError);
  });
});
