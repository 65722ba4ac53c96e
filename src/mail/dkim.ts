/**
 * DKIM signing (RFC 6376, relaxed/relaxed, rsa-sha256) of raw messages Gazette assembled itself.
 *
 * nodemailer's own DKIM option re-reads every message through two byte-by-byte JavaScript streams
 * (header parser and relaxed-body canonicalizer) and signs on the event loop; measured here it
 * costs more than building and sending the message. Gazette's raw messages are CRLF-only with
 * short lines, so the relaxed body is usually the body itself: one native SHA-256, and the RSA
 * signature runs on libuv's thread pool (`crypto.sign` with a callback) instead of the event loop.
 * Transactional mail, which nodemailer composes, is still signed by nodemailer with the same key
 * and the same header list (`dkimOptions` in transport.ts).
 */
import { createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Config, ConfigError } from '../config.js';

/**
 * Header fields signed when present, in this order: RFC 6376 §5.4.1's list plus the list headers.
 * List-Unsubscribe-Post must be signed for RFC 8058 one-click; Gmail and Yahoo ignore unsigned
 * List-Unsubscribe. Feedback-ID is Gmail's feedback loop identifier.
 */
export const DKIM_SIGNED_HEADERS = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-ID',
  'Content-Description',
  'Resent-Date',
  'Resent-From',
  'Resent-Sender',
  'Resent-To',
  'Resent-Cc',
  'Resent-Message-ID',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Help',
  'List-Unsubscribe',
  'List-Subscribe',
  'List-Post',
  'List-Owner',
  'List-Archive',
  'List-Unsubscribe-Post',
  'Feedback-ID',
] as const;

export interface DkimKey {
  domain: string;
  selector: string;
  /** PEM, PKCS#1 or PKCS#8 */
  privateKey: string;
  /** where the key came from, for error messages: DKIM_PRIVATE_KEY or DKIM_PRIVATE_KEY_FILE */
  source?: string;
}

/** The key from the environment, or undefined when DKIM is not configured. */
export function dkimKeyFrom(config: Config): DkimKey | undefined {
  if (!config.DKIM_DOMAIN || !config.DKIM_SELECTOR) return undefined;
  let pem = config.DKIM_PRIVATE_KEY;
  if (pem === undefined) {
    try {
      pem = readFileSync(config.DKIM_PRIVATE_KEY_FILE as string, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `environment variable DKIM_PRIVATE_KEY_FILE: cannot read it (${(err as Error).message})`,
      );
    }
  }
  // a key pasted into a one-line .env value keeps its newlines as "\n"
  return {
    domain: config.DKIM_DOMAIN,
    selector: config.DKIM_SELECTOR,
    privateKey: pem.replace(/\\n/g, '\n'),
    source: config.DKIM_PRIVATE_KEY !== undefined ? 'DKIM_PRIVATE_KEY' : 'DKIM_PRIVATE_KEY_FILE',
  };
}

/** Parses the key once; a wrong key is a start-up error, not a silently unsigned send. */
export function parseDkimKey(key: DkimKey): KeyObject {
  const variable = key.source ?? 'DKIM_PRIVATE_KEY';
  let parsed: KeyObject;
  try {
    parsed = createPrivateKey(key.privateKey);
  } catch (err) {
    throw new ConfigError(
      `environment variable ${variable}: not a PEM private key (${(err as Error).message})`,
    );
  }
  if (parsed.asymmetricKeyType !== 'rsa') {
    throw new ConfigError(
      `environment variable ${variable}: DKIM needs an RSA key (rsa-sha256), got ${parsed.asymmetricKeyType}`,
    );
  }
  const bits = parsed.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 1024) {
    throw new ConfigError(
      `environment variable ${variable}: RSA key of ${bits} bits; receivers require 1024 or more`,
    );
  }
  return parsed;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');
/** Anything relaxed body canonicalization would change inside a line: tabs, runs, trailing spaces. */
const NOT_RELAXED = /\t| {2}| \r\n/;
/** A CR or LF that is not part of CRLF. */
const BARE_NEWLINE = /\r(?!\n)|(?<!\r)\n/;

export class DkimError extends Error {
  readonly code = 'GZ_ERR_DKIM';
}

/** RFC 6376 §3.4.4: one SP for every WSP run, none at line ends, no empty lines at the end. */
export function relaxedBody(body: string): string {
  let out = NOT_RELAXED.test(body) ? body.replace(/[ \t]+/g, ' ').replace(/ \r\n/g, '\r\n') : body;
  if (out.endsWith(' ')) out = out.slice(0, -1);
  let end = out.length;
  while (end >= 2 && out.charCodeAt(end - 2) === 13 && out.charCodeAt(end - 1) === 10) end -= 2;
  if (end === 0) return '';
  return `${out.slice(0, end)}\r\n`;
}

/** RFC 6376 §3.4.2 for one field: lower-case name, unfolded value with WSP runs as one SP. */
function relaxedHeader(name: string, value: string): string {
  return `${name.toLowerCase()}:${value
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '')}`;
}

interface Field {
  name: string;
  /** everything after the colon, folding included */
  value: string;
}

function parseHeader(block: string): Field[] {
  const fields: Field[] = [];
  for (const line of block.split('\r\n')) {
    if (line === '') continue;
    if (line[0] === ' ' || line[0] === '\t') {
      const last = fields.at(-1);
      if (!last) throw new DkimError('the header starts with a continuation line');
      last.value += `\r\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new DkimError(`not a header field: ${line.slice(0, 40)}`);
    fields.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1) });
  }
  return fields;
}

/**
 * Folds the tag list so no line passes 76 characters. FWS goes only where RFC 6376 allows it:
 * between tags, after a colon of h=, and inside the base64 of b= (never inside d= or s=).
 */
function foldTags(pieces: Array<{ text: string; joined?: boolean }>, start: number): string {
  let out = '';
  let width = start;
  for (const piece of pieces) {
    const sep = piece.joined ? '' : ' ';
    if (width + sep.length + piece.text.length > 76 && width > 1) {
      out += `\r\n ${piece.text}`;
      width = 1 + piece.text.length;
    } else {
      out += sep + piece.text;
      width += sep.length + piece.text.length;
    }
  }
  return out;
}

export interface DkimSigner {
  /** The message with a DKIM-Signature field in front. Rejects messages with bare CR or LF. */
  sign(raw: Buffer): Promise<Buffer>;
}

export function createDkimSigner(key: DkimKey, opts: { now?: () => Date } = {}): DkimSigner {
  const privateKey = parseDkimKey(key);
  const signed = new Map(DKIM_SIGNED_HEADERS.map((name, i) => [name.toLowerCase(), i]));
  const now = opts.now ?? (() => new Date());
  const domain = key.domain.toLowerCase();

  return {
    async sign(raw) {
      const split = raw.indexOf(CRLF_CRLF);
      if (split < 0) throw new DkimError('the message has no empty line after its header');
      // latin1 keeps one char per byte, so the strings hash back to the exact bytes
      const header = raw.toString('latin1', 0, split + 2);
      const body = raw.toString('latin1', split + 4);
      if (BARE_NEWLINE.test(header) || BARE_NEWLINE.test(body)) {
        // the SMTP client turns them into CRLF on the wire, which would break the signature
        throw new DkimError('the message has a bare CR or LF');
      }
      const bh = createHash('sha256').update(relaxedBody(body), 'latin1').digest('base64');

      // the last instance of each listed field signs (§5.4.2); collected bottom-up
      const fields = parseHeader(header);
      const chosen: Array<Field | undefined> = [];
      for (let i = fields.length - 1; i >= 0; i--) {
        const field = fields[i]!;
        const index = signed.get(field.name.toLowerCase());
        if (index !== undefined && chosen[index] === undefined) chosen[index] = field;
      }
      const present = chosen.filter((f): f is Field => f !== undefined);
      const t = Math.floor(now().getTime() / 1000);
      const names = present.map((f) => f.name);
      const pieces = [
        { text: 'v=1;' },
        { text: 'a=rsa-sha256;' },
        { text: 'c=relaxed/relaxed;' },
        { text: `d=${domain};` },
        { text: `s=${key.selector};` },
        { text: `t=${t};` },
        { text: `bh=${bh};` },
        ...names.map((name, i) => ({
          text: `${i === 0 ? 'h=' : ''}${name}${i === names.length - 1 ? ';' : ':'}`,
          joined: i > 0,
        })),
        { text: 'b=' },
      ];
      const value = foldTags(pieces, 'DKIM-Signature:'.length);
      let data = '';
      for (const field of present) data += `${relaxedHeader(field.name, field.value)}\r\n`;
      data += relaxedHeader('DKIM-Signature', value);

      const signature = await new Promise<Buffer>((resolve, reject) =>
        cryptoSign('sha256', Buffer.from(data, 'latin1'), privateKey, (err, sig) =>
          err ? reject(new DkimError(`signing failed: ${err.message}`)) : resolve(sig),
        ),
      );
      const lastLine = value.slice(value.lastIndexOf('\n') + 1);
      const b64 = signature.toString('base64');
      const chunks = [{ text: b64.slice(0, Math.max(0, 75 - lastLine.length)), joined: true }];
      for (let i = chunks[0]!.text.length; i < b64.length; i += 72)
        chunks.push({ text: b64.slice(i, i + 72), joined: true });
      const line = `DKIM-Signature:${value}${foldTags(chunks, lastLine.length)}\r\n`;
      return Buffer.concat([Buffer.from(line, 'latin1'), raw]);
    },
  };
}
