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

/**
 * encodeQpLine's bytes, written straight into a buffer (with the final CRLF when asked): the
 * builder encodes every line that holds a personal token once per recipient, and a string built
 * piece by piece then copied into a Buffer was a large share of that work and of its garbage.
 */
export function encodeQpLineBytes(line: string, crlf: boolean): Buffer {
  const bytes = Buffer.from(line, 'utf8');
  const last = bytes.length - 1;
  // at most 3 characters per byte, a soft break (3) per 72 characters or fewer, the CRLF
  const out = Buffer.allocUnsafe(bytes.length * 3 + (Math.ceil(bytes.length / 24) + 1) * 3 + 2);
  let n = 0;
  let width = 0;
  for (let i = 0; i <= last; i++) {
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
  if (crlf) {
    out[n++] = 13;
    out[n++] = 10;
  }
  return out.subarray(0, n);
}

/** Encodes a whole text (LF or CRLF newlines) as QP with CRLF hard breaks. */
export function encodeQp(text: string): string {
  return text.split(/\r?\n/).map(encodeQpLine).join('\r\n');
}
