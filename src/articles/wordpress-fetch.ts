import type { Publication } from '../publication.js';
import { parseGuardedJson, UnsafeJsonError } from '../security/json-guard.js';
import { sourceContext } from './normalize/language.js';
import { noSiteUrl, WP_POST_ID } from './normalize/wordpress-post.js';
import { restPostEvent } from './normalize/wordpress-rest.js';
import { FetchRefusedError, type SafeFetchPolicy, safeFetch } from './safe-fetch.js';
import type { ArticleEvent } from './types.js';

/** Answers that say the post is not there for Gazette, now or on any retry. */
const PERMANENT_STATUSES = new Set([401, 403, 404, 410]);

/**
 * The WordPress id fetch: FetchRefusedError for what a retry cannot change (the post is gone or
 * not public, the answer is not JSON, the fetch was refused), plain errors for 5xx, 429, timeouts
 * and network trouble, which are retried.
 */
export function createFetchJson(policy: SafeFetchPolicy): (url: string) => Promise<unknown> {
  return async (url) => {
    const res = await safeFetch(url, policy, { accept: 'application/json' });
    const where = `GET ${new URL(res.url).pathname}`;
    if (PERMANENT_STATUSES.has(res.status)) {
      throw new FetchRefusedError(`${where} answered ${res.status}: the post is missing or not public`);
    }
    if (res.status < 200 || res.status >= 300) throw new Error(`${where} answered ${res.status}`);
    try {
      return parseGuardedJson(res.body.toString('utf8'), 'post');
    } catch (err) {
      if (err instanceof UnsafeJsonError) throw new FetchRefusedError(`${where}: ${err.message}`);
      const type = res.header('content-type')?.split(';')[0] ?? 'no Content-Type';
      throw new FetchRefusedError(`${where} did not answer JSON (${type}): is siteUrl a WordPress site?`);
    }
  };
}

/**
 * The post a WordPress webhook announced by id only, fetched from the configured site: HeldError
 * while no siteUrl is set, FetchRefusedError for what no retry changes, plain errors to retry.
 */
export async function fetchAnnounced(
  event: ArticleEvent,
  publication: Publication,
  fetchJson: (url: string) => Promise<unknown>,
): Promise<ArticleEvent> {
  const site = publication.sources.wordpress?.siteUrl;
  if (event.provider !== 'wordpress') {
    throw new FetchRefusedError(`event ${event.eventId}: only an id arrived from ${event.provider}`);
  }
  if (!site) throw noSiteUrl(event.externalId);
  if (!WP_POST_ID.test(event.externalId)) {
    throw new FetchRefusedError(
      `event ${event.eventId}: post id ${JSON.stringify(event.externalId)} is not numeric`,
    );
  }
  // Always the configured site, whatever URL the payload suggested: the body names the post, not where to fetch.
  const url = new URL(
    `wp-json/wp/v2/posts/${encodeURIComponent(event.externalId)}`,
    site.endsWith('/') ? site : `${site}/`,
  );
  url.searchParams.set('_embed', '1');
  const json = await fetchJson(url.href);
  const fetched = restPostEvent(json as Record<string, unknown>, sourceContext(publication, 'wordpress'), {
    allowFetch: false,
  });
  return { ...fetched, eventId: event.eventId };
}
