import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface BounceFixtureValues {
  verp?: string;
  recipient?: string;
  messageId?: string;
}

/** A sample from test/fixtures/bounces/ with its placeholders filled, in CRLF lines as on the wire. */
export function bounceFixture(name: string, v: BounceFixtureValues = {}): Buffer {
  const file = fileURLToPath(new URL(`../fixtures/bounces/${name}.eml`, import.meta.url));
  const text = readFileSync(file, 'utf8')
    .replaceAll('{{VERP}}', v.verp ?? 'b-1-0000000000@bounces.almadar.example')
    .replaceAll('{{RECIPIENT}}', v.recipient ?? 'reader@example.net')
    .replaceAll('{{MESSAGE_ID}}', v.messageId ?? '<m1@almadar.example>');
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');
}
