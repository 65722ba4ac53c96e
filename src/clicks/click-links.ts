/**
 * Each reader's article links, filled into an edition's `{{link_<slot>}}` tokens by the per-reader
 * substitution: a signed redirect on PUBLIC_URL for a tracked reader, the plain link (the edition's
 * stored target) for one who turned tracking off, for test copies and for web copies.
 */
import type { ClickTokens } from './click-token.js';

export interface EditionLink {
  articleId: string;
  url: string;
}

export function clickUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/c/${token}`;
}

export function plainLinks(links: readonly EditionLink[] | null): string[] {
  return (links ?? []).map((l) => l.url);
}

export function readerLinks(args: {
  tokens: ClickTokens;
  publicUrl: string;
  editionId: string;
  links: readonly EditionLink[] | null;
  /** null for a copy with no reader (an operator's test address) */
  subscriberId: string | null;
  tracked: boolean;
}): string[] {
  const { tokens, publicUrl, editionId, links, subscriberId } = args;
  if (!links) return [];
  if (!args.tracked || !subscriberId) return plainLinks(links);
  return tokens.signSlots(editionId, subscriberId, links.length).map((token) => clickUrl(publicUrl, token));
}
