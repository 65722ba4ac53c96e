/** The pure core of "articles in": verify a webhook, normalise its body, parse polled feeds. */
export {
  type FeedSource,
  type NewItemsOptions,
  parseFeed,
  type SkipHandler,
  selectNewItems,
} from './feeds.js';
export {
  canonicalUrl,
  decodeTitle,
  htmlToText,
  isBreaking,
  parseDate,
  sanitizeBody,
  summarize,
  topicsFor,
} from './normalize/common.js';
export {
  type GenericArticleEvent,
  GenericArticleEventSchema,
  normalizeGeneric,
} from './normalize/generic.js';
export { type GhostOptions, normalizeGhost } from './normalize/ghost.js';
export { normalizeStrapi, type StrapiOptions } from './normalize/strapi.js';
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
