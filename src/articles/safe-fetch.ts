/**
 * Outbound GETs to content sources (feeds, the WordPress id fetch): the only HTTP client Gazette
 * points at URLs that came from configuration or content.
 *
 * - The body is streamed with a byte cap: a declared Content-Length over the cap is refused before
 *   anything is read, and an undeclared or lying body is cut off at the cap.
 * - Redirects are followed by hand, only to the same origin and for a few hops: a feed host cannot
 *   send Gazette to another host, least of all an internal one.
 * - The address actually connected to is checked (in the socket's DNS lookup, so a name that
 *   resolves to a public address first and a private one later cannot slip through): loopback,
 *   private, link-local, CGNAT, multicast and reserved ranges, IPv4 and IPv6 (IPv4-mapped and NAT64
 *   addresses are judged by their IPv4 part), are refused unless the operator named the host.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** A refusal that will not change by trying again: the source must be fixed or reconfigured. */
export class FetchRefusedError extends Error {
  override name = 'FetchRefusedError';
}

export interface SafeFetchPolicy {
  maxBytes: number;
  timeoutMs: number;
  /** Hosts (lower-case host names or IP literals) allowed to resolve to non-public addresses. */
  allowedHosts: ReadonlySet<string>;
  /** Same-origin redirects followed before giving up (default 3). */
  maxRedirects?: number;
}

export interface SafeResponse {
  status: number;
  /** The URL that answered, after same-origin redirects. */
  url: string;
  headers: IncomingHttpHeaders;
  header(name: string): string | null;
  /** Empty for 304 and for statuses outside 200-299 (the body of an error is not read). */
  body: Buffer;
}

const bareHost = (host: string) =>
  host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some)
  ['ff00::', 8], // multicast
  ['2001:db8::', 32], // documentation
  ['100::', 64], // discard
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

/** The IPv4 address an IPv6 address stands for (::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::/96), if any. */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = Number.parseInt(hex[1]!, 16);
    const lo = Number.parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

/** True for an address Gazette must not fetch from unless its host was configured. */
export function isNonPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(bare);
    if (v4) return blocked.check(v4, 'ipv4');
    return blocked.check(bare, 'ipv6');
  }
  return true; // not an address at all: refuse rather than guess
}

function guardedLookup(hostname: string): LookupFunction {
  return (host, options, callback) => {
    dnsLookup(host, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const bad = addresses.find((a) => isNonPublicAddress(a.address));
      if (bad) {
        return callback(
          new FetchRefusedError(
            `${hostname} resolves to ${bad.address}, a non-public address; add the host to FETCH_ALLOWED_HOSTS if it is yours`,
          ),
          '',
          0,
        );
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

export function checkTarget(url: URL, policy: SafeFetchPolicy): LookupFunction | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FetchRefusedError(`${url.protocol} URLs are not fetched`);
  }
  if (url.username || url.password) throw new FetchRefusedError('URLs with credentials are not fetched');
  const host = bareHost(url.hostname);
  if (policy.allowedHosts.has(host)) return undefined; // the operator's own host: any address
  if (isIP(host)) {
    if (isNonPublicAddress(host)) {
      throw new FetchRefusedError(
        `${host} is a non-public address; add it to FETCH_ALLOWED_HOSTS if it is yours`,
      );
    }
    return undefined; // a literal is connected to as it is: no lookup to guard
  }
  return guardedLookup(host);
}

function request(
  url: URL,
  headers: Record<string, string>,
  lookup: LookupFunction | undefined,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { headers, lookup, signal, agent: false }, resolve);
    req.on('error', reject);
  });
}

/** A decoder for the response's Content-Encoding; unknown encodings are refused. */
function decoderFor(encoding: string | null, where: string): Transform | null {
  switch ((encoding ?? 'identity').trim().toLowerCase()) {
    case 'identity':
    case '':
      return null;
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      throw new FetchRefusedError(`${where}: unsupported Content-Encoding ${encoding}`);
  }
}

/**
 * Reads the body, decoded, and gives up as soon as either the bytes on the wire or the decoded
 * bytes pass the cap: a small gzip "bomb" cannot inflate past it either.
 */
function readCapped(
  res: IncomingMessage,
  decoder: Transform | null,
  maxBytes: number,
  where: string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let wire = 0;
    let size = 0;
    const tooLarge = () => {
      res.destroy();
      decoder?.destroy();
      reject(new FetchRefusedError(`${where}: body larger than ${maxBytes} bytes`));
    };
    const body = decoder ?? res;
    if (decoder) {
      res.on('data', (chunk: Buffer) => {
        wire += chunk.length;
        if (wire > maxBytes) tooLarge();
      });
      res.pipe(decoder);
      decoder.on('error', (err) => {
        res.destroy();
        reject(new Error(`${where}: body could not be decoded (${err.message})`));
      });
    }
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return tooLarge();
      chunks.push(chunk);
    });
    body.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    // a reset or a timeout mid-body: transient (once settled, later rejections are no-ops)
    res.on('close', () => {
      if (!res.complete) reject(new Error(`${where}: connection closed mid-body`));
    });
  });
}

/**
 * GETs `target` under `policy`. Throws FetchRefusedError for what retrying cannot fix (a refused
 * address, a cross-origin redirect, a body over the cap) and plain errors for network trouble and
 * timeouts, which may pass.
 */
export async function safeFetch(
  target: string | URL,
  policy: SafeFetchPolicy,
  headers: Record<string, string> = {},
): Promise<SafeResponse> {
  let url = new URL(target);
  const origin = url.origin;
  const signal = AbortSignal.timeout(policy.timeoutMs);
  const maxRedirects = policy.maxRedirects ?? 3;
  for (let hop = 0; ; hop++) {
    const where = `GET ${url.origin}${url.pathname}`;
    const lookup = checkTarget(url, policy);
    const res = await request(url, { 'accept-encoding': 'gzip, deflate, br', ...headers }, lookup, signal);
    const status = res.statusCode ?? 0;
    const header = (name: string) => {
      const v = res.headers[name.toLowerCase()];
      return (Array.isArray(v) ? v[0] : v) ?? null;
    };
    if (status >= 300 && status < 400 && status !== 304) {
      res.resume();
      const location = header('location');
      if (!location) throw new FetchRefusedError(`${where}: ${status} without a Location`);
      const next = new URL(location, url);
      if (next.origin !== origin) {
        throw new FetchRefusedError(`${where}: redirect to another origin (${next.origin}) refused`);
      }
      if (hop >= maxRedirects) throw new FetchRefusedError(`${where}: more than ${maxRedirects} redirects`);
      url = next;
      continue;
    }
    const response: SafeResponse = {
      status,
      url: url.href,
      headers: res.headers,
      header,
      body: Buffer.alloc(0),
    };
    if (status < 200 || status >= 300) {
      res.resume();
      return response;
    }
    const declared = Number(header('content-length'));
    if (Number.isFinite(declared) && declared > policy.maxBytes) {
      res.destroy();
      throw new FetchRefusedError(`${where}: Content-Length ${declared} is over ${policy.maxBytes} bytes`);
    }
    let decoder: Transform | null;
    try {
      decoder = decoderFor(header('content-encoding'), where);
    } catch (err) {
      res.destroy();
      throw err;
    }
    response.body = await readCapped(res, decoder, policy.maxBytes, where);
    return response;
  }
}

/**
 * The hosts that may be on the operator's own network: those listed in FETCH_ALLOWED_HOSTS
 * (comma-separated) and those of the URLs the operator configured (feeds, the WordPress site).
 */
export function allowedFetchHosts(listed: string, configuredUrls: Array<string | undefined>): Set<string> {
  const hosts = new Set(listed.split(',').map(bareHost).filter(Boolean));
  for (const raw of configuredUrls) {
    if (!raw) continue;
    try {
      hosts.add(bareHost(new URL(raw).hostname));
    } catch {
      // an invalid configured URL fails where it is used, with its own message
    }
  }
  return hosts;
}
