import type { Publication } from '../publication.js';
import { isObject, type Json } from './normalize/fields.js';
import type { DeclaredLanguage, SourceContext } from './normalize/language.js';
import { type ArticleLanguage, HeldError, PayloadError } from './types.js';

/** What every feed format shares: the configured source, its context, and reading items one by one. */

export interface FeedSource {
  id: string;
  type: 'rss' | 'atom' | 'wordpress';
  url: string;
  language?: ArticleLanguage;
  timezone?: string;
}

/** Called for each item that could not be read, so the poller can log it; the rest still count. */
export type SkipHandler = (reason: string, index: number) => void;

/** The first declared language among an item's and its feed's, with where it was found. */
export function declared(...candidates: Array<[string | undefined, string]>): DeclaredLanguage | undefined {
  for (const [value, field] of candidates) if (value?.trim()) return { value, field };
  return undefined;
}

/** A feed's configured `language` is its default: used when neither the feed nor the letters say. */
export function feedContext(feed: FeedSource, publication: Publication, base?: string) {
  const ctx: SourceContext = {
    provider: 'feed',
    sourceKey: `feed:${feed.id}`,
    language: feed.language ?? 'ar',
    timezone: feed.timezone ?? publication.timezone,
    siteUrl: base ?? feed.url,
    publication,
  };
  return ctx;
}

export function eachItem<T>(
  items: unknown[],
  onSkip: SkipHandler,
  read: (item: Json, index: number) => T,
): T[] {
  const out: T[] = [];
  items.forEach((item, index) => {
    try {
      if (!isObject(item)) throw new PayloadError(`item ${index}: not an element`);
      out.push(read(item, index));
    } catch (err) {
      // Held items stay in the feed: the next poll after the configuration is fixed takes them.
      if (!(err instanceof PayloadError || err instanceof HeldError)) throw err;
      onSkip(err instanceof HeldError ? `held: ${err.message}` : err.message, index);
    }
  });
  return out;
}
