/**
 * The one bounce taxonomy. Every report Gazette receives (a DSN by mail, an ARF complaint, a relay's
 * webhook event, or a refusal at SMTP time) ends up in one of these classes, and policy.ts decides
 * from the class alone:
 * - hard: the address cannot receive mail (no such user, bad domain, disabled): suppress at once
 * - soft: the address exists but cannot take mail now (mailbox full, greylisted, temporary)
 * - block: the receiver refuses the sender (policy, spam, reputation, authentication): not the
 *   reader's fault, never suppresses them; it feeds the sending pause
 * - complaint: the reader marked the message as spam (a feedback loop): suppress at once
 * - auto-reply: out-of-office and other RFC 3834 answers: counted, otherwise ignored
 * - unknown: nothing above matched (or a delay notice): recorded, no action
 */
export type BounceClass = 'hard' | 'soft' | 'block' | 'complaint' | 'auto-reply' | 'unknown';
export const BOUNCE_CLASSES: BounceClass[] = ['hard', 'soft', 'block', 'complaint', 'auto-reply', 'unknown'];

export interface Diagnosis {
  /** the enhanced status code (RFC 3463), e.g. "5.1.1", from a DSN's Status or the reply text */
  status?: string | null;
  /** the basic SMTP reply code, e.g. 550 */
  code?: number | null;
  /** the diagnostic text: a DSN's Diagnostic-Code, the SMTP reply, a relay's description */
  text?: string | null;
}

export interface Classification {
  class: BounceClass;
  /** the id of the rule that decided (CLASSIFICATION_RULES), for the evidence kept */
  rule: string;
}

export interface ClassificationRule {
  id: string;
  class: BounceClass;
  /** the diagnostic text matches (checked first: it is more specific than the codes) */
  text?: RegExp;
  /** the enhanced status code matches (whole code, e.g. /^5\.1\.\d+$/) */
  status?: RegExp;
  /** the basic reply code matches (e.g. /^55[013]$/) */
  code?: RegExp;
  why: string;
  /** inputs this rule must decide: the unit test walks every row with them */
  examples: Diagnosis[];
}

/**
 * First match wins. Text rules come before code rules, because providers put the real reason in
 * the text and often a generic code beside it (Gmail's "550 5.7.1" covers both spam and policy;
 * Outlook says "550 5.5.0" for a missing mailbox). Block text rules come before the hard ones:
 * "Recipient address rejected: ... blocked using zen.spamhaus.org" is about us, not the reader.
 */
export const CLASSIFICATION_RULES: ClassificationRule[] = [
  // ---- the sender's fault, said in words (before anything about the recipient) ----
  {
    id: 'text-auth-failed',
    class: 'block',
    text: /\b(DMARC|SPF|DKIM)\b.*\b(fail|policy|reject|not pass)|not (properly )?authenticated|unauthenticated|authentication requirements|5\.7\.2[5-7]/i,
    why: 'the receiver wants SPF/DKIM/DMARC from the sender (Gmail 5.7.26, Yahoo, Microsoft)',
    examples: [
      {
        status: '5.7.26',
        code: 550,
        text: '550-5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM.',
      },
      { code: 550, text: '550 5.7.9 Message not accepted for policy reasons: DMARC policy reject' },
    ],
  },
  {
    id: 'text-spam-or-reputation',
    class: 'block',
    text: /unsolicited|\bspam\b|spamhaus|spamcop|barracuda|blacklist|block ?list|blocked using|listed (at|on|in)|\brbl\b|reputation|\bS3150\b|\bS3140\b|banned sending ip|\[TSS?\d+\]|unexpected volume or user complaints|content rejected|message (refused|rejected) (due to|because of|for) (content|policy)|poor sending/i,
    why: 'spam, block lists, reputation and volume throttling are about the sender (Gmail 4.7.28/5.7.1, Microsoft S3150, Yahoo TSS04)',
    examples: [
      {
        status: '5.7.1',
        code: 550,
        text: '550-5.7.1 [203.0.113.9] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.',
      },
      {
        code: 550,
        text: "550 5.7.1 Unfortunately, messages from [203.0.113.9] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
      },
      {
        code: 421,
        text: '421 4.7.0 [TSS04] Messages from 203.0.113.9 temporarily deferred due to unexpected volume or user complaints',
      },
      {
        code: 554,
        text: '554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org',
      },
      {
        status: '4.7.28',
        code: 421,
        text: '421-4.7.28 Gmail has detected an unusual rate of unsolicited mail',
      },
    ],
  },
  {
    id: 'text-rate-limited',
    class: 'block',
    text: /rate limit|too many (messages|connections|recipients)|sending quota|exceeded the (rate|sending)/i,
    why: 'the receiver limits how fast this sender may send: slow down, the reader is fine',
    examples: [{ code: 452, text: '452 4.5.3 Your message has too many recipients' }],
  },
  {
    id: 'text-sender-rejected',
    class: 'block',
    text: /sender address rejected|sender (domain|verify|verification)|(bad|invalid) sender|not permitted to relay|relay(ing)? (access )?denied/i,
    why: 'the receiver refuses our envelope sender or will not take mail from us',
    examples: [
      { code: 553, text: '553 5.1.8 <b-x@bounces.example>: Sender address rejected: Domain not found' },
      { code: 554, text: '554 5.7.1 <reader@example.net>: Relay access denied' },
    ],
  },
  // ---- the mailbox is full or the receiver asks to try later (before "no such" wording) ----
  {
    id: 'text-mailbox-full',
    class: 'soft',
    text: /over ?quota|quota exceeded|exceeded (the|its|their) (storage|quota)|mailbox (is )?full|mailbox size limit|insufficient (system )?storage|out of storage|user has exhausted allowed storage/i,
    why: 'the mailbox exists but has no room; it may be emptied (RFC 3463 X.2.2)',
    examples: [
      {
        status: '5.2.2',
        code: 552,
        text: '552-5.2.2 The email account that you tried to reach is over quota and inactive. Please direct the recipient to',
      },
      { code: 552, text: '552 5.2.2 <reader@example.net>: user is over quota' },
      { text: 'mailbox is full: retry timeout exceeded' },
      {
        code: 554,
        text: '554 delivery error: dd Sorry, your message to reader@yahoo.example cannot be delivered. This account is over quota.',
      },
    ],
  },
  {
    id: 'text-greylisted',
    class: 'soft',
    text: /grey ?list|gray ?list|try (again )?later|temporarily (deferred|rejected|unavailable)|please retry|service (is )?(temporarily )?unavailable|resources temporarily/i,
    why: 'greylisting and temporary refusals: a later attempt normally succeeds',
    examples: [
      {
        code: 450,
        status: '4.2.0',
        text: '450 4.2.0 <reader@example.net>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.net.html',
      },
      { code: 451, text: '451 Temporary local problem - please try later' },
    ],
  },
  // ---- the address does not exist (the reader's fault) ----
  {
    id: 'text-bad-domain',
    class: 'hard',
    text: /host or domain name not found|domain (name )?not found|no such domain|unrouteable (address|domain|mail domain)|name service error|no mx (record|host)|all relevant mx records point to non-existent hosts|domain (does not|doesn't) (exist|accept mail)|\bnxdomain\b|does not accept mail \(nullmx\)/i,
    why: 'the domain has no mail server (DNS): nothing will ever be delivered there',
    examples: [
      {
        status: '5.4.4',
        text: 'Host or domain name not found. Name service error for name=no-such-domain.example type=A: Host not found',
      },
      { code: 550, text: 'Unrouteable address' },
      { text: 'all relevant MX records point to non-existent hosts' },
    ],
  },
  {
    id: 'text-no-such-user',
    class: 'hard',
    text: /no such (user|mailbox|recipient|address|account)|user unknown|unknown user|unknown (local[- ]part|recipient|mailbox|address)|recipient (address )?(not found|unknown|does not exist|rejected: user unknown)|(mailbox|address|account|user) (does not|doesn't) exist|does not exist|recipnotfound|recipientnotfound|invalid (recipient|mailbox|address)|mailbox (not found|unavailable)|(account|mailbox)( that you tried to reach)? (has been |is )?(disabled|deactivated|closed|suspended)|this user doesn't have an? .* account|no longer (active|available|in use)|not our customer|address rejected/i,
    why: 'the mailbox does not exist or was closed (Gmail NoSuchUser, Microsoft RecipNotFound, Yahoo "dd This user doesn\'t have", Postfix "User unknown", Exim "unknown local-part")',
    examples: [
      {
        status: '5.1.1',
        code: 550,
        text: "550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos",
      },
      {
        status: '5.1.10',
        code: 550,
        text: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient reader@contoso.example not found by SMTP address lookup',
      },
      {
        code: 550,
        text: "554 delivery error: dd This user doesn't have a yahoo.example account (reader@yahoo.example) [0]",
      },
      {
        code: 550,
        text: '550 5.1.1 <reader@example.net>: Recipient address rejected: User unknown in virtual mailbox table',
      },
      { code: 550, text: '550 Unknown local-part "reader" in domain "example.net"' },
      { code: 550, text: '550 5.5.0 Requested action not taken: mailbox unavailable' },
      {
        status: '5.2.1',
        code: 550,
        text: '550-5.2.1 The email account that you tried to reach is disabled.',
      },
    ],
  },
  // ---- no helpful words: the enhanced status code decides (RFC 3463) ----
  {
    id: 'status-mailbox-full',
    class: 'soft',
    status: /^[45]\.2\.2$/,
    why: 'X.2.2 mailbox full: "useful for the temporary failure" (RFC 3463)',
    examples: [{ status: '5.2.2' }, { status: '4.2.2', code: 452 }],
  },
  {
    id: 'status-sender-address',
    class: 'block',
    status: /^5\.1\.[78]$/,
    why: "5.1.7/5.1.8 bad sender's address: our envelope, not the reader",
    examples: [{ status: '5.1.8' }],
  },
  {
    id: 'status-address',
    class: 'hard',
    status: /^5\.1\.\d+$/,
    why: '5.1.x addressing: bad mailbox (5.1.1), bad domain (5.1.2), bad syntax (5.1.3), moved (5.1.6), Microsoft 5.1.10',
    examples: [{ status: '5.1.1' }, { status: '5.1.2', code: 550 }, { status: '5.1.10' }],
  },
  {
    id: 'status-mailbox',
    class: 'hard',
    status: /^5\.2\.\d+$/,
    why: '5.2.x mailbox status other than full: disabled (5.2.1), not accepting messages',
    examples: [{ status: '5.2.1' }, { status: '5.2.0' }],
  },
  {
    id: 'status-routing',
    class: 'hard',
    status: /^5\.4\.[146]$/,
    why: '5.4.1 no answer from host, 5.4.4 unable to route, 5.4.6 routing loop: the destination cannot be reached',
    examples: [{ status: '5.4.4' }],
  },
  {
    id: 'status-policy',
    class: 'block',
    status: /^[45]\.7\.\d+$/,
    why: 'X.7.x security and policy: the receiver refuses the sender, not the reader',
    examples: [{ status: '5.7.1', code: 554 }, { status: '4.7.1' }, { status: '5.7.0' }],
  },
  {
    id: 'status-content',
    class: 'block',
    status: /^5\.(3\.4|6\.\d+)$/,
    why: 'message too big (5.3.4) or media not supported (5.6.x): our message, not the reader',
    examples: [{ status: '5.3.4' }, { status: '5.6.0' }],
  },
  {
    id: 'status-transient',
    class: 'soft',
    status: /^4\.\d+\.\d+$/,
    why: '4.x.x persistent transient failure: the same message may succeed later',
    examples: [{ status: '4.4.7' }, { status: '4.0.0', code: 451 }],
  },
  {
    id: 'status-system',
    class: 'soft',
    status: /^5\.[345]\.\d+$/,
    why: '5.3.x mail system, 5.4.x network (delivery time expired 5.4.7), 5.5.x protocol: trouble on the way, not a verdict on the address',
    examples: [{ status: '5.4.7' }, { status: '5.3.0' }, { status: '5.5.2' }],
  },
  {
    id: 'status-permanent-other',
    class: 'hard',
    status: /^5\.0\.\d+$/,
    why: '5.0.0 "other or undefined": old MTAs say it for unknown users; no words said otherwise',
    examples: [{ status: '5.0.0' }],
  },
  // ---- a bare reply code (old MTAs, relays that only pass the code) ----
  {
    id: 'code-mailbox',
    class: 'hard',
    code: /^55[013]$/,
    why: '550 mailbox unavailable, 551 not local, 553 name not allowed (RFC 5321): about the address',
    examples: [
      { code: 550 },
      { code: 553, text: "553 sorry, that domain isn't in my list of allowed rcpthosts" },
    ],
  },
  {
    id: 'code-storage',
    class: 'soft',
    code: /^(452|552)$/,
    why: '452/552 storage exceeded (RFC 5321)',
    examples: [{ code: 552 }],
  },
  {
    id: 'code-transaction',
    class: 'block',
    code: /^554$/,
    why: '554 transaction failed: receivers use it for content and policy refusals',
    examples: [{ code: 554, text: '554 Transaction failed' }],
  },
  {
    id: 'code-transient',
    class: 'soft',
    code: /^4\d\d$/,
    why: '4xx: try again later (RFC 5321)',
    examples: [{ code: 421 }, { code: 451, text: '451 local error in processing' }],
  },
];

const ENHANCED = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
const BASIC = /^\s*([245]\d\d)[\s-]/;

/** The enhanced status code in a piece of text, e.g. "5.1.1" from "550 5.1.1 user unknown". */
export function enhancedStatus(text: string | null | undefined): string | undefined {
  const m = text ? ENHANCED.exec(text) : null;
  return m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : undefined;
}

/** The basic reply code at the start of a reply or DSN diagnostic ("smtp; 550 ..."). */
export function basicCode(text: string | null | undefined): number | undefined {
  if (!text) return undefined;
  const m = BASIC.exec(text.replace(/^\s*(smtp|x-postfix|x-local|x-unix)\s*;\s*/i, ''));
  return m ? Number(m[1]) : undefined;
}

/** Decides the class of a failure from its status, code and words (first rule of the table wins). */
export function classifyDiagnosis(d: Diagnosis): Classification {
  const text = d.text?.slice(0, 4000) ?? '';
  const status = d.status ?? enhancedStatus(text);
  const code = d.code ?? basicCode(text);
  // a success or delay status is no bounce: 2.x.x delivered/relayed, and DSN delay notices
  if (status?.startsWith('2.')) return { class: 'unknown', rule: 'status-success' };
  for (const rule of CLASSIFICATION_RULES) {
    if (rule.text && text && rule.text.test(text)) return { class: rule.class, rule: rule.id };
    if (rule.status && status && rule.status.test(status)) return { class: rule.class, rule: rule.id };
    if (rule.code && code !== undefined && rule.code.test(String(code)))
      return { class: rule.class, rule: rule.id };
  }
  return { class: 'unknown', rule: 'no-rule' };
}

/**
 * The class of a refusal at SMTP time (the sender's own error), so a synchronous 5xx and a later
 * DSN for the same failure land in the same class. Only replies are bounces: a connection error
 * has no verdict on the address.
 */
export function classifySmtpRefusal(err: {
  responseCode?: number;
  response?: string;
  message?: string;
}): Classification | undefined {
  if (err.responseCode === undefined) return undefined;
  const text = err.response ?? err.message ?? '';
  return classifyDiagnosis({ code: err.responseCode, status: enhancedStatus(text), text });
}
