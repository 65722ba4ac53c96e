/**
 * The list headers every subscribed-reader mail carries (welcome, digests, alerts).
 * RFC 2369 List-Unsubscribe with an https URL first, plus RFC 8058 one-click: the URL must accept
 * POST "List-Unsubscribe=One-Click" without cookies or a confirmation step.
 */
export interface ListHeaderInput {
  /** https URL of POST /unsubscribe/<token> */
  unsubscribeUrl: string;
  /** LIST_UNSUBSCRIBE_MAILTO, when set */
  mailto?: string;
  /** e.g. "Al-Madar Daily <newsletter.almadar.example>" (RFC 2919) */
  listId?: string;
}

export function buildListHeaders(input: ListHeaderInput): Record<string, string> {
  if (/[\s<>]/.test(input.unsubscribeUrl)) throw new Error('unsubscribe URL must not contain spaces or <>');
  const targets = [`<${input.unsubscribeUrl}>`];
  if (input.mailto) {
    if (/[\s<>?]/.test(input.mailto)) throw new Error('LIST_UNSUBSCRIBE_MAILTO must be a bare address');
    targets.push(`<mailto:${input.mailto}?subject=unsubscribe>`);
  }
  const headers: Record<string, string> = {
    'List-Unsubscribe': targets.join(', '),
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
  if (input.listId) headers['List-Id'] = input.listId;
  return headers;
}
