export { clickUrl, type EditionLink, plainLinks, readerLinks } from './click-links.js';
export { type ClickService, createClickService, type Redirect } from './click-service.js';
export {
  type ArticleClickStats,
  articleClickStats,
  type EditionClickStats,
  editionClickStats,
} from './click-stats.js';
export { hasClickOptOut, setClickOptOut } from './click-store.js';
export { type ClickClaims, type ClickTokens, createClickTokens } from './click-token.js';
export { type MostReadQuery, mostReadIds } from './most-read.js';
export { type PopularityEntry, popularIds, replacePopularity } from './popularity-store.js';
export { requestScanner, type ScannerReason, scannerAgent } from './scanners.js';
