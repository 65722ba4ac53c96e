import type { Language, Publication } from '../publication.js';
import type { Frequency } from '../subscriptions/schemas.js';
import type { GreetingPair } from './personalization.js';

/** An article as the renderer receives it. All strings are untrusted CMS content. */
export interface RenderArticle {
  id: string;
  title: string;
  summary: string;
  url: string;
  imageUrl: string | null;
  imageAlt: string | null;
  author: string | null;
  /** Gazette topic ids, most specific first; the first known one decides the digest group. */
  topics: string[];
  publishedAt: Date;
  breaking: boolean;
}

export type EditionTemplate = 'digest' | 'alert';

export interface RenderEditionInput {
  template: EditionTemplate;
  language: Language;
  /** In priority order: the first is the lead story, the last is the first to be dropped. */
  articles: RenderArticle[];
  publication: Publication;
  editionId: string;
  /** The edition's date (shown in the header and the digest subject). */
  date: Date;
  frequency: Frequency;
  /** Target of the "more on the site" link; publication.website when absent. */
  moreUrl?: string;
  /**
   * Daily and weekly digests: the "most read" section (most clicked first). Articles already in
   * the edition are left out; the publication's mostRead.items caps the count.
   */
  mostRead?: RenderArticle[];
  /** HTML size budget in UTF-8 bytes before personalisation (default: under Gmail's clipping). */
  maxHtmlBytes?: number;
}

export type OmitReason = 'invalid-url' | 'count-limit' | 'size-limit';

export interface RenderedEdition {
  editionId: string;
  subject: string;
  /** Contains the personal tokens; see personalize(). */
  html: string;
  text: string;
  greeting: GreetingPair;
  /** MJML compiles this call performed (always 1). */
  compileCount: number;
  /** Article ids in the edition, in priority order. */
  included: string[];
  omitted: { id: string; reason: OmitReason }[];
  /**
   * Each article's link target (UTM parameters added), by slot: with click tracking on, the html
   * and text carry `{{link_<slot>}}` tokens instead, filled per reader (src/clicks/click-links.ts).
   */
  links: { articleId: string; url: string }[];
  /** size of the HTML part on the wire (transfer-encoded), the size Gmail's clipping counts */
  htmlBytes: number;
}

export type TransactionalTemplate = 'confirmation' | 'welcome' | 'already-subscribed' | 'repermission';

export interface RenderTransactionalInput {
  language: Language;
  publication: Publication;
  name?: string;
  confirmUrl?: string;
  preferencesUrl?: string;
  unsubscribeUrl?: string;
  expiresAt?: Date;
  /**
   * repermission: the "yes, keep sending" link, and the days before an unanswered reader is paused;
   * already-subscribed: the same link, for a paused reader (the mail then says they are paused)
   */
  keepUrl?: string;
  graceDays?: number;
  /** welcome: what the reader chose, and when the first digest comes (render/next-digest.ts) */
  choices?: { topics: string[]; alerts: boolean; nextDigest: string };
}

export interface RenderedMessage {
  subject: string;
  html: string;
  text: string;
}

export class RenderError extends Error {
  readonly code = 'GZ_ERR_RENDER';
}
