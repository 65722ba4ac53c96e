import type { SnsClient } from './ses-sns.js';

/**
 * The real SnsClient: https GETs to SNS hosts (the callers check the URL first, ses-sns.ts
 * snsUrl), bounded in time and size. Signing certificates change rarely: kept per URL.
 */
export function createSnsClient(opts: { timeoutMs?: number } = {}): SnsClient {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const certificates = new Map<string, Promise<string>>();
  async function get(url: string): Promise<string> {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    if (!res.ok) throw new Error(`${new URL(url).hostname} answered ${res.status}`);
    const body = await res.text();
    if (body.length > 64 * 1024) throw new Error('answer too large');
    return body;
  }
  return {
    certificate(url) {
      let cert = certificates.get(url);
      if (!cert) {
        cert = get(url);
        // a failed fetch is not kept: the next message tries again
        cert.catch(() => certificates.delete(url));
        certificates.set(url, cert);
        if (certificates.size > 20) certificates.delete(certificates.keys().next().value as string);
      }
      return cert;
    },
    async confirm(subscribeUrl) {
      await get(subscribeUrl);
    },
  };
}
