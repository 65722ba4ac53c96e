/**
 * Which Content-Transfer-Encoding a body part gets, and how large it is once encoded.
 *
 * Quoted-printable keeps ASCII as it is but spells every other byte as three ("=D8"), so an
 * Arabic letter (two UTF-8 bytes) costs six; base64 costs four per three bytes whatever they are
 * (about 2.7 per Arabic letter). English mail is smaller and more readable in QP; Arabic mail is
 * much smaller in base64, which matters because Gmail clips a message whose HTML passes ~102 KB
 * as stored, that is encoded, and hides the footer with its unsubscribe link.
 *
 * No imports: the renderer's size budget uses it too.
 */

export type TransferEncoding = 'quoted-printable' | 'base64';

/** Encoded characters per base64 line (RFC 2045 §6.8: at most 76). */
export const BASE64_LINE = 76;

function isQpLiteral(byte: number): boolean {
  return (byte >= 33 && byte <= 126 && byte !== 61) || byte === 32 || byte === 9;
}

/** Size of `bytes` as QP with hard breaks kept: 3 per escaped byte, 1 per literal, soft breaks. */
function qpSize(bytes: Uint8Array): number {
  let size = 0;
  let width = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 10) {
      size += 2; // CRLF
      width = 0;
      continue;
    }
    if (byte === 13) continue;
    const piece = isQpLiteral(byte) ? 1 : 3;
    if (width + piece > 75) {
      size += 3; // "=" CRLF
      width = 0;
    }
    size += piece;
    width += piece;
  }
  return size;
}

/** Size of `length` bytes as base64 in lines of 76 characters with CRLF. */
export function base64Size(length: number): number {
  const chars = Math.ceil(length / 3) * 4;
  return chars + Math.ceil(chars / BASE64_LINE) * 2;
}

/** The smaller encoding for this content, and its size in bytes on the wire. */
export function chooseTransferEncoding(text: string): { encoding: TransferEncoding; size: number } {
  const bytes = Buffer.from(text, 'utf8');
  const qp = qpSize(bytes);
  const b64 = base64Size(bytes.length);
  // QP stays readable in a raw view and diffs well; prefer it unless base64 saves real bytes.
  return b64 < qp * 0.95 ? { encoding: 'base64', size: b64 } : { encoding: 'quoted-printable', size: qp };
}

/** Encoded size of a body part in the encoding chooseTransferEncoding picks for it. */
export function encodedSize(text: string): number {
  return chooseTransferEncoding(text).size;
}

/** Base64 of `bytes` in lines of at most 76 characters, each ending CRLF ('' for no bytes). */
export function base64Lines(bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  const encoded = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let out = '';
  for (let i = 0; i < encoded.length; i += BASE64_LINE) out += `${encoded.slice(i, i + BASE64_LINE)}\r\n`;
  return out;
}
