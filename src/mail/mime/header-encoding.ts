/**
 * Header encoding: RFC 2047 encoded-words for non-ASCII text (Arabic subjects and display
 * names), RFC 5322 folding, and the checks that keep caller data from injecting headers.
 */

export const MAX_HEADER_LINE = 78;
export const HARD_HEADER_LINE = 998;
const ENCODED_WORD_MAX = 75;
const EW_PREFIX = '=?UTF-8?B?';
const EW_SUFFIX = '?=';

export class HeaderError extends Error {
  readonly code = 'GZ_ERR_MIME_HEADER';
}

const HEADER_NAME = /^[!-9;-~]+$/;

export function assertHeaderName(name: string): void {
  if (!HEADER_NAME.test(name)) throw new HeaderError(`invalid header name ${JSON.stringify(name)}`);
}

function assertNoLineBreak(name: string, value: string): void {
  if (/[\r\n\0]/.test(value)) throw new HeaderError(`${name}: header value contains a line break`);
}

const isAscii = (value: string) => /^[\x20-\x7e\t]*$/.test(value);

/**
 * Splits text into B-encoded words of at most `firstRoom` then 75 characters. Words break only
 * between code points, so no UTF-8 sequence (an Arabic letter is two bytes) is ever split across
 * encoded-words, which RFC 2047 §5 forbids and which decoders render as U+FFFD.
 */
export function encodedWords(text: string, firstRoom = ENCODED_WORD_MAX): string[] {
  const words: string[] = [];
  const room = Math.min(firstRoom, ENCODED_WORD_MAX);
  const bytesFor = (chars: number) => Math.floor((chars - EW_PREFIX.length - EW_SUFFIX.length) / 4) * 3;
  let maxBytes = bytesFor(room);
  let chunk: Buffer[] = [];
  let size = 0;
  const flush = () => {
    words.push(`${EW_PREFIX}${Buffer.concat(chunk, size).toString('base64')}${EW_SUFFIX}`);
    chunk = [];
    size = 0;
    maxBytes = bytesFor(ENCODED_WORD_MAX);
  };
  for (const char of text) {
    const bytes = Buffer.from(char, 'utf8');
    if (size + bytes.length > maxBytes && size > 0) flush();
    chunk.push(bytes);
    size += bytes.length;
  }
  if (size > 0 || words.length === 0) flush();
  return words;
}

/**
 * Folds `Name: value` at whitespace so lines stay within 78 characters where the value allows;
 * a single longer token (a long URL) is kept whole up to the 998-character hard limit.
 */
function foldAscii(name: string, value: string): string {
  const tokens = value.split(/(?<=\S)(?=\s)/);
  let line = `${name}:`;
  const lines: string[] = [];
  for (const [index, raw] of tokens.entries()) {
    const token = index === 0 ? ` ${raw.trimStart()}` : raw;
    if (line.length + token.length > MAX_HEADER_LINE && line.trim().length > name.length + 1) {
      lines.push(line);
      line = token.startsWith(' ') || token.startsWith('\t') ? token : ` ${token}`;
    } else {
      line += token;
    }
  }
  lines.push(line);
  for (const l of lines) {
    if (l.length > HARD_HEADER_LINE)
      throw new HeaderError(`${name}: a token exceeds ${HARD_HEADER_LINE} characters`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Folds already-encoded words, one or more per line, separated by folding whitespace. */
function foldWords(prefix: string, words: string[], suffix = ''): string {
  let line = prefix;
  const lines: string[] = [];
  const parts = suffix ? [...words, suffix] : words;
  for (const [index, word] of parts.entries()) {
    if (line.length + 1 + word.length > MAX_HEADER_LINE && index > 0) {
      lines.push(line);
      line = ` ${word}`;
    } else {
      line += ` ${word}`;
    }
  }
  lines.push(line);
  return `${lines.join('\r\n')}\r\n`;
}

/** An unstructured header (Subject, custom headers), encoded when it is not plain ASCII. */
export function unstructuredHeader(name: string, value: string): string {
  assertHeaderName(name);
  assertNoLineBreak(name, value);
  if (isAscii(value)) return foldAscii(name, value);
  // "Name: " takes the first line's leading columns.
  return foldWords(`${name}:`, encodedWords(value, MAX_HEADER_LINE - name.length - 2));
}

export interface MailAddress {
  name?: string;
  address: string;
}

// Deliberately ASCII-only: SMTPUTF8 addresses are not supported by the bulk path.
const ADDR_SPEC = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

export function parseAddress(input: string | MailAddress): MailAddress {
  const value = typeof input === 'string' ? { address: input } : input;
  const address = value.address.trim();
  if (!ADDR_SPEC.test(address) || address.length > 254) {
    throw new HeaderError(`invalid email address ${JSON.stringify(value.address)}`);
  }
  const name = value.name?.replace(/[\r\n\0]/g, ' ').trim();
  return name ? { name, address } : { address };
}

/** `Name: "Display" <addr>` with the display name as encoded-words when it is not ASCII. */
export function addressHeader(name: string, input: string | MailAddress): string {
  assertHeaderName(name);
  const { name: display, address } = parseAddress(input);
  if (!display) return `${name}: ${address}\r\n`;
  if (isAscii(display)) {
    const quoted = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$/.test(display)
      ? display
      : `"${display.replace(/[\\"]/g, '\\$&')}"`;
    return foldAscii(name, `${quoted} <${address}>`);
  }
  return foldWords(`${name}:`, encodedWords(display, MAX_HEADER_LINE - name.length - 2), `<${address}>`);
}

/** RFC 5322 date-time in UTC, e.g. "Sun, 01 Nov 2026 04:00:00 +0000". */
export function dateHeaderValue(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new HeaderError('invalid Date');
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** Message-ID with angle brackets; the id itself must be a plain dot-atom-ish token. */
export function messageIdValue(id: string): string {
  const bare = id.replace(/^<|>$/g, '');
  if (!/^[!-;=?-~]+@[!-;=?-~]+$/.test(bare))
    throw new HeaderError(`invalid Message-ID ${JSON.stringify(id)}`);
  return `<${bare}>`;
}
