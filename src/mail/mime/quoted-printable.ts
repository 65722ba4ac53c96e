/**
 * Quoted-printable (RFC 2045 §6.7) for one source line at a time. Bodies are encoded with hard
 * line breaks at the source's own newlines, so every line is independent: a line without a
 * personal token is encoded once per edition, a line with one is encoded per recipient.
 */

export const MAX_QP_LINE = 76;

/** Encoded form of every byte value when it is not at the end of a line. */
const ENCODED: string[] = Array.from({ length: 256 }, (_, byte) => {
  const literal = (byte >= 33 && byte <= 126 && byte !== 61) || byte === 32 || byte === 9;
  return literal ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
});

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
  const bytes = Buffer.from(line, 'utf8');
  const last = bytes.length - 1;
  let out = '';
  let width = 0;
  for (let i = 0; i <= last; i++) {
    const byte = bytes[i]!;
    let piece = ENCODED[byte]!;
    if (i === last && (byte === 32 || byte === 9)) piece = byte === 32 ? '=20' : '=09';
    // The soft break "=" takes one column; the final piece of the line needs no room for it.
    const room = i === last ? MAX_QP_LINE : MAX_QP_LINE - 1;
    if (width + piece.length > room) {
      out += '=\r\n';
      width = 0;
    }
    if (width === 0 && byte === 0x2e) piece = '=2E';
    out += piece;
    width += piece.length;
  }
  return out;
}

/** Encodes a whole text (LF or CRLF newlines) as QP with CRLF hard breaks. */
export function encodeQp(text: string): string {
  return text.split(/\r?\n/).map(encodeQpLine).join('\r\n');
}
