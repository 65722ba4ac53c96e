/** The pure core of "articles in": verify a webhook, normalise its body, parse polled feeds. */
export {
  type FeedSource,
  type NewItemsOptions,
  parseFeed,
  type SkipHandler,
  selectNewItems,
} from './feeds.js';
export { parseDate } from './normalize/dates.js';
export {
  type GenericArticleEvent,
  GenericArticleEventSchema,
  normalizeGeneric,
} from './normalize/generic.js';
export { type GhostOptions, normalizeGhost } from './normalize/ghost.js';
export { canonicalUrl, sanitizeBody } from './normalize/sanitize.js';
export { normalizeStrapi, type StrapiOptions } from './normalize/strapi.js';
export { isBreaking, topicsFor } from './normalize/terms.js';
export { decodeTitle, htmlToText, summarize } from './normalize/text.js';
export { normalizeWordPress, type WordPressOptions, type WpTrigger } from './normalize/wordpress.js';
export {
  type HeaderBag,
  signGhostWebhook,
  signStandardWebhook,
  signWpWebhook,
  verifyGhostWebhook,
  verifyStandardWebhook,
  verifyStrapiWebhook,
  verifyWpWebhook,
} from './signatures.js';
export * from './types.js';
