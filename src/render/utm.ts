/**
 * UTM parameters on article links (publication.engagement.utm), appended at render time so the
 * publisher's analytics can tell newsletter visits apart. The URL is extended as text rather
 * than re-serialised through URLSearchParams, which would re-encode the CMS's own query string;
 * a parameter the article URL already carries is left as the CMS set it.
 */
import type { Publication } from '../publication.js';
import type { Frequency } from '../subscriptions/schemas.js';
import { wallClock } from '../time/zoned-time.js';

export type LinkKind = Frequency | 'alert';

export interface UtmContext {
  publication: Publication;
  kind: LinkKind;
  /** the edition's date, written YYYY-MM-DD in the publication's time zone */
  date: Date;
}

function isoDay(date: Date, timeZone: string): string {
  const t = wallClock(date, timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${t.year}-${pad(t.month)}-${pad(t.day)}`;
}

/** The parameters for one edition, or null when the publication sets none. */
export function utmParams(ctx: UtmContext): [string, string][] | null {
  const utm = ctx.publication.engagement.utm;
  if (!utm) return null;
  const campaign = utm.campaign
    .replaceAll('{date}', isoDay(ctx.date, ctx.publication.timezone))
    .replaceAll('{kind}', ctx.kind);
  return [
    ['utm_source', utm.source],
    ['utm_medium', utm.medium],
    ['utm_campaign', campaign],
  ];
}

function decodeKey(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw; // a malformed escape in the CMS's URL: compared as written
  }
}

/** `url` with the parameters added before its fragment; existing keys win. */
export function withParams(url: string, params: [string, string][] | null): string {
  if (!params || params.length === 0) return url;
  const hashAt = url.indexOf('#');
  const base = hashAt < 0 ? url : url.slice(0, hashAt);
  const fragment = hashAt < 0 ? '' : url.slice(hashAt);
  const queryAt = base.indexOf('?');
  const query = queryAt < 0 ? '' : base.slice(queryAt + 1);
  const present = new Set(
    query
      .split('&')
      .filter(Boolean)
      .map((pair) => decodeKey(pair.split('=')[0]!)),
  );
  const added = params
    .filter(([key]) => !present.has(key))
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
  if (added.length === 0) return url;
  const joiner = queryAt < 0 ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${joiner}${added.join('&')}${fragment}`;
}
