/**
 * The links a reader follows from a mail or a page, built in one place so the paths match the
 * routes that serve them (src/http/reader-routes.ts, preference-routes.ts, the archive in digest-routes.ts).
 * `publicUrl` is PUBLIC_URL for mail, or '' for a link within Gazette's own pages.
 */
export function confirmUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/confirm/${token}`;
}

export function preferencesUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/preferences/${token}`;
}

/** The reader's own data as JSON, authenticated by their preferences token. */
export function readerDataUrl(publicUrl: string, token: string): string {
  return `${preferencesUrl(publicUrl, token)}/data`;
}

export function unsubscribeUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/unsubscribe/${token}`;
}

/** The re-permission mail's "yes, keep sending" link (src/http/repermission-routes.ts). */
export function keepUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/keep/${token}`;
}

/** The hosted subscription form, in a language. */
export function subscribeUrl(publicUrl: string, language: string): string {
  return `${publicUrl}/subscribe?lang=${language}`;
}

/** The public web copy of an edition ("view in browser"), the same for every reader. */
export function archiveUrl(publicUrl: string, editionId: string): string {
  return `${publicUrl}/archive/${editionId}`;
}
