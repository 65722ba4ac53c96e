/**
 * Quoted-printable (RFC 2045 §6.7) for one source line at a time. Bodies are encoded with hard
 * line breaks at the source's own newlines, so every line is independent: a line without a
 * personal token is encoded once per edition, a line with one is encoded per recipient.
 */

export const MAX_QP_LINE = 76;

/** Bytes written literally anywhere but at the end of a line (the rest become "=XX"). */
const LITERAL: Uint8Array = Uint8Array.from({ length: 256 }, (_, byte) =>
  (byte >= 33 && byte <= 126 && byte !== 61) || byte === 32 || byte === 9 ? 1 : 0,
);
const HEX = Buffer.from('0123456789ABCDEF', 'ascii');
const EQUALS = 0x3d;
const DOT = 0x2e;

/**
 * Encodes one line (no CR/LF inside) to QP, inserting soft breaks ("=" CRLF) so no encoded line
 * exceeds 76 characters. Escapes are never split; trailing whitespace is encoded so transports
 * that strip it cannot change the content. A dot starting an encoded line is written "=2E" (any
 * octet may be, RFC 2045 §6.7 rule 1): SMTP would otherwise have to dot-stuff it (RFC 5321
 * §4.5.2), and a line that is just "." must never reach a relay that forgot to. MJML's CSS has
 * such lines (".mj-outlook-group-fix {"), and with none left nodemailer's data stream passes the
 * message to the socket untouched. The result has no final CRLF.
 */
export function encodeQpLine(line: string): string {
  return encodeQpLineBytes(line, false).toString('latin1');
}

/** Room for the QP of `length` bytes: 3 characters per byte, a soft break (3) per 72 characters. */
const bound = (length: number) => length * 3 + (Math.ceil(length / 24) + 1) * 3;

/**
 * Writes the QP of `bytes` into `out` at `at`, the line being at column `width`; `lineEnd` when
 * they end the line (the last byte needs no room for a soft break, and trailing whitespace is
 * escaped). A line's encoding is a walk whose only state is the column, so runs encoded one after
 * another give the bytes of the whole line encoded at once. Returns the end offset and the column,
 * packed as offset * 128 + column (columns stay below 77) so the per-recipient path allocates
 * nothing for it.
 */
function encodeInto(bytes: Uint8Array, width: number, lineEnd: boolean, out: Buffer, at: number): number {
  const last = lineEnd ? bytes.length - 1 : -1;
  let n = at;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    let escaped = LITERAL[byte] === 0 || (i === last && (byte === 32 || byte === 9));
    const size = escaped ? 3 : 1;
    // The soft break "=" takes one column; the final piece of the line needs no room for it.
    const room = i === last ? MAX_QP_LINE : MAX_QP_LINE - 1;
    if (width + size > room) {
      out[n++] = EQUALS;
      out[n++] = 13;
      out[n++] = 10;
      width = 0;
    }
    if (width === 0 && byte === DOT) escaped = true;
    if (escaped) {
      out[n++] = EQUALS;
      out[n++] = HEX[byte >> 4]!;
      out[n++] = HEX[byte & 15]!;
      width += 3;
    } else {
      out[n++] = byte;
      width += 1;
    }
  }
  return n * 128 + width;
}

/** encodeQpLine's bytes, with the final CRLF when asked. */
export function encodeQpLineBytes(line: string, crlf: boolean): Buffer {
  const bytes = Buffer.from(line, 'utf8');
  const out = Buffer.allocUnsafe(bound(bytes.length) + 2);
  let n = Math.floor(encodeInto(bytes, 0, true, out, 0) / 128);
  if (crlf) {
    out[n++] = 13;
    out[n++] = 10;
  }
  return out.subarray(0, n);
}

/** One piece's QP from one starting column: its bytes and the column after them. */
interface EncodedPiece {
  bytes: Buffer;
  width: number;
}

/**
 * The encoder of one line made of fixed pieces with a value between each two (a line holding
 * personal tokens, encoded once per recipient): returns the encoded line, CRLF included. A
 * piece's encoding depends only on the column it starts at (and on whether it ends the line), so
 * each piece is encoded once per starting column and only the values are encoded per call; a
 * tracked digest's lines are MJML's long `<a href="{{link_<n>}}" style=...>` lines.
 */
export function qpLineEncoder(pieces: readonly string[]): (values: readonly string[]) => Buffer {
  const raw = pieces.map((p) => Buffer.from(p, 'utf8'));
  const memo = raw.map(() => new Map<number, EncodedPiece>());
  let piecesBound = 0;
  for (const piece of raw) piecesBound += bound(piece.length);
  // the last non-empty piece, which ends the line unless a value after it is non-empty
  let lastPiece = raw.length - 1;
  while (lastPiece > 0 && raw[lastPiece]!.length === 0) lastPiece--;

  return function encodeLine(values) {
    if (values.length !== raw.length - 1) throw new Error(`${raw.length - 1} values expected`);
    const bytes = values.map((v) => Buffer.from(v, 'utf8'));
    let size = piecesBound + 2;
    let lastValue = -1;
    for (let i = 0; i < bytes.length; i++) {
      size += bound(bytes[i]!.length);
      if (bytes[i]!.length > 0 && i + 1 > lastPiece) lastValue = i;
    }
    // what ends the line: the last value when nothing but empty pieces follows it, else lastPiece
    const out = Buffer.allocUnsafe(size);
    let n = 0;
    let width = 0;
    for (let i = 0; i < raw.length; i++) {
      if (i > 0) {
        const packed = encodeInto(bytes[i - 1]!, width, i - 1 === lastValue, out, n);
        n = Math.floor(packed / 128);
        width = packed % 128;
      }
      const lineEnd = lastValue < 0 && i === lastPiece;
      const key = width * 2 + (lineEnd ? 1 : 0);
      let piece = memo[i]!.get(key);
      if (!piece) {
        const scratch = Buffer.alloc(bound(raw[i]!.length));
        const packed = encodeInto(raw[i]!, width, lineEnd, scratch, 0);
        piece = { bytes: scratch.subarray(0, Math.floor(packed / 128)), width: packed % 128 };
        memo[i]!.set(key, piece);
      }
      n += piece.bytes.copy(out, n);
      width = piece.width;
    }
    out[n++] = 13;
    out[n++] = 10;
    return out.subarray(0, n);
  };
}

/** Encodes a whole text (LF or CRLF newlines) as QP with CRLF hard breaks. */
export function encodeQp(text: string): string {
  return text.split(/\r?\n/).map(encodeQpLine).join('\r\n');
}
