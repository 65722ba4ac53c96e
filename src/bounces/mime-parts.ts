/**
 * A small MIME walker for reports. mailparser folds message/delivery-status and
 * message/feedback-report parts into the text body (they are "text-like"), which loses where one
 * part ends and the next begins; reports need each part by its type, so this walks the tree
 * itself. Bodies of message/rfc822 parts are not descended into: their headers are what we need.
 */
export interface MimePart {
  /** lower-cased media type, e.g. "message/delivery-status" */
  type: string;
  params: Record<string, string>;
  headers: HeaderList;
  /** the decoded body (transfer encoding undone) */
  body: Buffer;
}

export type HeaderList = Array<[name: string, value: string]>;

const MAX_DEPTH = 6;
const MAX_PARTS = 64;

/** Unfolds and splits a header block ("Name: value" lines) into [lower-case name, value] pairs. */
export function parseHeaderBlock(block: string): HeaderList {
  const out: HeaderList = [];
  for (const line of block
    .replace(/\r\n/g, '\n')
    .replace(/\n[ \t]+/g, ' ')
    .split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    out.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
  }
  return out;
}

export function header(list: HeaderList, name: string): string | undefined {
  return list.find(([n]) => n === name)?.[1];
}

/** "multipart/report; report-type=delivery-status; boundary=x" → type and params. */
export function parseContentType(value: string | undefined): {
  type: string;
  params: Record<string, string>;
} {
  if (!value) return { type: 'text/plain', params: {} };
  const [type, ...rest] = value.split(';');
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9*_.-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^;\s]+)/g;
  const tail = rest.join(';');
  for (let m = re.exec(tail); m; m = re.exec(tail)) params[m[1]!.toLowerCase()] = m[3] ?? m[2]!;
  return { type: (type ?? 'text/plain').trim().toLowerCase(), params };
}

/** Splits raw bytes at the blank line between the header block and the body. */
export function splitHeadersBody(raw: Buffer): { headers: HeaderList; body: Buffer } {
  const text = raw.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return { headers: parseHeaderBlock(text), body: Buffer.alloc(0) };
  return {
    headers: parseHeaderBlock(text.slice(0, m.index)),
    body: raw.subarray(m.index + m[0].length),
  };
}

function decodeQuotedPrintable(s: string): Buffer {
  const soft = s.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(soft.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}

function decodeBody(body: Buffer, encoding: string | undefined): Buffer {
  const e = encoding?.toLowerCase().trim();
  if (e === 'base64') return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (e === 'quoted-printable') return decodeQuotedPrintable(body.toString('latin1'));
  return body;
}

/** Every leaf part of a message, depth first; a message/rfc822 part is a leaf. */
export function mimeParts(raw: Buffer): MimePart[] {
  const out: MimePart[] = [];
  walk(raw, 0, out);
  return out;
}

function walk(raw: Buffer, depth: number, out: MimePart[]): void {
  if (out.length >= MAX_PARTS) return;
  const { headers, body } = splitHeadersBody(raw);
  const { type, params } = parseContentType(header(headers, 'content-type'));
  const boundary = params.boundary;
  if (type.startsWith('multipart/') && boundary && depth < MAX_DEPTH) {
    const delimiter = escapeRegExp(`--${boundary}`);
    let text = body.toString('latin1');
    // the epilogue after the closing delimiter is no part
    const close = new RegExp(`(?:^|\\r?\\n)${delimiter}--`).exec(text);
    if (close) text = text.slice(0, close.index);
    const pieces = text.split(new RegExp(`(?:^|\\r?\\n)${delimiter}[ \\t]*(?:\\r?\\n|$)`));
    // pieces[0] is the preamble
    for (const piece of pieces.slice(1)) {
      if (piece.trim() === '') continue;
      walk(Buffer.from(piece, 'latin1'), depth + 1, out);
    }
    return;
  }
  out.push({ type, params, headers, body: decodeBody(body, header(headers, 'content-transfer-encoding')) });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
