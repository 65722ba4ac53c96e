/**
 * Raw MIME assembly for bulk sends. `prepareEditionMessage` does the expensive work once per
 * edition (encoded-word subject, QP encoding of every line); `buildMessage` only encodes the few
 * lines that carry a personal token and concatenates buffers.
 *
 * Layout: multipart/alternative with text/plain then text/html, each UTF-8 in the transfer
 * encoding that is smaller for its content (transfer-encoding.ts): quoted-printable with hard
 * breaks at the source newlines, so lines are encoded independently, or base64, where the static
 * runs between personal tokens are encoded once per edition at each of the three byte offsets a
 * token's length can leave them at (see Base64Part). CRLF throughout; SMTP dot-stuffing is left
 * to the transport (nodemailer's SMTP connection does it; base64 and our QP never start a line
 * with a dot).
 */
import { randomBytes } from 'node:crypto';
import type { Language } from '../../publication.js';
import {
  type GreetingPair,
  greetingFor,
  PERSONAL_TOKEN_PATTERN,
  type PersonalTokenName,
  type PersonalValues,
  tokenValue,
} from '../../render/personalization.js';
import { escapeHtml } from '../../render/safe-text.js';
import {
  addressHeader,
  dateHeaderValue,
  HeaderError,
  type MailAddress,
  messageIdValue,
  unstructuredHeader,
} from './header-encoding.js';
import { encodeQpLine, qpLineEncoder } from './quoted-printable.js';
import { base64Lines, chooseTransferEncoding, type TransferEncoding } from './transfer-encoding.js';

/** Headers buildMessage writes itself; callers may not pass them. */
const RESERVED = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'date',
  'message-id',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
]);

type Escape = (value: string) => string;

/** A body line holding personal tokens: literal pieces alternate with token names. */
interface DynamicLine {
  /** the line's QP, CRLF included, from the values between its literal pieces */
  encode: (values: readonly string[]) => Buffer;
  tokens: PersonalTokenName[];
  escape: Escape;
}

/** A static run of a base64 part, encoded once for each offset 0-2 at which it can start. */
interface Base64Run {
  raw: Buffer;
  /** shifts[k]: base64 lines of raw[k .. k + 3n) and the 0-2 bytes left after them */
  shifts: { encoded: Buffer; tail: Buffer }[];
}

/**
 * A base64 body: static runs alternating with personal tokens. Base64 works in groups of three
 * bytes, so a token's value (of any length) shifts where the next run starts within a group;
 * each run is pre-encoded at all three shifts, and only the token plus up to two bytes on each
 * side is encoded per recipient. Lines may end early (decoders skip line breaks), never pass 76.
 */
interface Base64Part {
  runs: Base64Run[];
  tokens: PersonalTokenName[];
  escape: Escape;
}

type Segment = Buffer | DynamicLine | Base64Part;

const EMPTY: Buffer = Buffer.alloc(0);

function base64Run(text: string): Base64Run {
  const raw = Buffer.from(text, 'utf8');
  const shifts: Base64Run['shifts'] = [];
  for (let k = 0; k < 3 && k <= raw.length; k++) {
    const end = k + Math.floor((raw.length - k) / 3) * 3;
    shifts.push({
      encoded: Buffer.from(base64Lines(raw.subarray(k, end)), 'ascii'),
      tail: raw.subarray(end),
    });
  }
  return { raw, shifts };
}

function base64Part(source: string, escapeValue: Escape): Base64Part {
  // text/* in base64 is encoded in canonical form: CRLF line ends (RFC 2045 §6.8)
  const parts = source.replace(/\r?\n/g, '\r\n').split(PERSONAL_TOKEN_PATTERN);
  return {
    runs: parts.filter((_, i) => i % 2 === 0).map(base64Run),
    tokens: parts.filter((_, i) => i % 2 === 1) as PersonalTokenName[],
    escape: escapeValue,
  };
}

function isBase64Part(segment: Segment): segment is Base64Part {
  return !Buffer.isBuffer(segment) && 'runs' in segment;
}

function pushBase64(part: Base64Part, values: PersonalValues, chunks: Buffer[]): void {
  let carry: Buffer = EMPTY;
  for (let i = 0; i < part.runs.length; i++) {
    const run = part.runs[i]!;
    if (i > 0) {
      const value = Buffer.from(part.escape(tokenValue(values, part.tokens[i - 1]!)), 'utf8');
      carry = Buffer.concat([carry, value]);
    }
    const need = (3 - (carry.length % 3)) % 3;
    if (run.raw.length < need + 3) {
      carry = Buffer.concat([carry, run.raw]);
      continue;
    }
    const head = Buffer.concat([carry, run.raw.subarray(0, need)]);
    if (head.length > 0) chunks.push(Buffer.from(base64Lines(head), 'ascii'));
    const shifted = run.shifts[need]!;
    chunks.push(shifted.encoded);
    carry = shifted.tail;
  }
  if (carry.length > 0) chunks.push(Buffer.from(base64Lines(carry), 'ascii'));
}

export interface PrepareEditionInput {
  from: string | MailAddress;
  subject: string;
  html: string;
  text: string;
  /** Per-edition headers (List-Id, X-Gazette-Edition, ...). */
  headers: Record<string, string>;
  language: Language;
  /** The rendered greeting pair, so `greeting_name` can be the bare reader name. */
  greeting?: GreetingPair;
}

export interface PreparedMessage {
  readonly language: Language;
  readonly boundary: string;
  readonly greeting: GreetingPair | undefined;
  /** From and Subject, encoded once. */
  readonly leadHeaders: Buffer;
  /** Edition headers, MIME headers and the blank line that ends the header section. */
  readonly trailHeaders: Buffer;
  readonly body: readonly Segment[];
  /**
   * Whether the body has `{{link_<n>}}` tokens (an edition rendered with click tracking on):
   * without them a reader's links are never read, so the caller need not sign any.
   */
  readonly usesLinks: boolean;
}

export interface BuildMessageInput {
  to: string | MailAddress;
  messageId: string;
  date: Date;
  values: PersonalValues;
  /** Per-recipient headers: List-Unsubscribe, List-Unsubscribe-Post, ... */
  extraHeaders?: Record<string, string>;
}

function customHeaders(headers: Record<string, string>): string {
  let out = '';
  for (const [name, value] of Object.entries(headers)) {
    if (RESERVED.has(name.toLowerCase())) throw new HeaderError(`${name} is set by the message builder`);
    out += unstructuredHeader(name, value);
  }
  return out;
}

/** Splits a body into QP-encoded static runs and the lines that need per-recipient encoding. */
function encodeBody(source: string, escapeValue: Escape, segments: Segment[], prefix: string[]): void {
  let run = prefix;
  for (const line of source.split(/\r?\n/)) {
    const parts = line.split(PERSONAL_TOKEN_PATTERN);
    if (parts.length === 1) {
      run.push(encodeQpLine(line), '\r\n');
      continue;
    }
    segments.push(Buffer.from(run.join(''), 'ascii'));
    run = [];
    segments.push({
      encode: qpLineEncoder(parts.filter((_, i) => i % 2 === 0)),
      tokens: parts.filter((_, i) => i % 2 === 1) as PersonalTokenName[],
      escape: escapeValue,
    });
  }
  if (run.length > 0) segments.push(Buffer.from(run.join(''), 'ascii'));
}

export function prepareEditionMessage(input: PrepareEditionInput): PreparedMessage {
  // "=_" can never occur in quoted-printable output, so the boundary cannot collide with a body.
  const boundary = `=_gazette_${randomBytes(12).toString('hex')}`;
  const partHeader = (type: string, encoding: TransferEncoding) =>
    `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`;
  const body: Segment[] = [];
  const noEscape: Escape = (v) => v;
  const addPart = (type: string, source: string, escapeValue: Escape) => {
    const { encoding } = chooseTransferEncoding(source);
    if (encoding === 'quoted-printable') {
      encodeBody(source, escapeValue, body, [partHeader(type, encoding)]);
      return;
    }
    body.push(Buffer.from(partHeader(type, encoding), 'ascii'), base64Part(source, escapeValue));
  };
  addPart('text/plain', input.text, noEscape);
  addPart('text/html', input.html, escapeHtml);
  body.push(Buffer.from(`--${boundary}--\r\n`, 'ascii'));
  return {
    language: input.language,
    boundary,
    greeting: input.greeting,
    leadHeaders: Buffer.from(
      addressHeader('From', input.from) + unstructuredHeader('Subject', input.subject),
      'ascii',
    ),
    trailHeaders: Buffer.from(
      `${customHeaders(input.headers)}MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="${boundary}"\r\n\r\n`,
      'ascii',
    ),
    body: mergeStatic(body),
    usesLinks: body.some((segment) => !Buffer.isBuffer(segment) && segment.tokens.some(isLinkToken)),
  };
}

const isLinkToken = (name: PersonalTokenName) => name.startsWith('link_');

/** Adjacent static buffers become one, so buildMessage concatenates as few pieces as possible. */
function mergeStatic(segments: Segment[]): Segment[] {
  const merged: Segment[] = [];
  let pending: Buffer[] = [];
  for (const segment of segments) {
    if (Buffer.isBuffer(segment)) pending.push(segment);
    else {
      if (pending.length > 0) merged.push(Buffer.concat(pending));
      pending = [];
      merged.push(segment);
    }
  }
  if (pending.length > 0) merged.push(Buffer.concat(pending));
  return merged;
}

/** Builds one recipient's raw message (CRLF line endings, every body line ≤ 76 characters). */
export function buildMessage(prepared: PreparedMessage, input: BuildMessageInput): Buffer {
  const values: PersonalValues = {
    ...input.values,
    greeting_name: greetingFor(prepared.greeting, input.values.greeting_name),
  };
  const recipientHeaders =
    addressHeader('To', input.to) +
    `Date: ${dateHeaderValue(input.date)}\r\nMessage-ID: ${messageIdValue(input.messageId)}\r\n` +
    customHeaders(input.extraHeaders ?? {});
  const chunks: Buffer[] = [
    prepared.leadHeaders,
    Buffer.from(recipientHeaders, 'ascii'),
    prepared.trailHeaders,
  ];
  for (const segment of prepared.body) {
    if (Buffer.isBuffer(segment)) {
      chunks.push(segment);
      continue;
    }
    if (isBase64Part(segment)) {
      pushBase64(segment, values, chunks);
      continue;
    }
    // A value may contain newlines (it should not); QP encodes them as =0A within the line.
    chunks.push(segment.encode(segment.tokens.map((t) => segment.escape(tokenValue(values, t)))));
  }
  return Buffer.concat(chunks);
}
