import { createRequire } from 'node:module';
import { Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';

/**
 * patches/nodemailer+10.6.1.patch lets nodemailer's SMTP DataStream (dot-stuffing and line-ending
 * repair of every message on the wire) skip its byte-by-byte loop for chunks that need no change,
 * found by looking only at the bytes next to CR and LF. The output must not change by a single byte: this runs the patched
 * stream and nodemailer's original loop (copied below as the oracle) over the same random inputs,
 * cut into the same random chunks.
 */
const require = createRequire(import.meta.url);
const nodemailerDir = require.resolve('nodemailer').replace(/dist[\\/]cjs[\\/]nodemailer\.js$/, '');
const { default: DataStream } = (await import(`${nodemailerDir}dist/esm/smtp-connection/data-stream.js`)) as {
  default: new () => Transform & { inByteCount: number; outByteCount: number };
};
const CjsDataStream = require(
  `${nodemailerDir}dist/cjs/smtp-connection/data-stream.js`,
) as new () => Transform & {
  inByteCount: number;
  outByteCount: number;
};

/** nodemailer 10.6.1's DataStream._transform and _flush, unpatched */
class OriginalDataStream extends Transform {
  inByteCount = 0;
  outByteCount = 0;
  lastByte: number | false = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    const chunks: Buffer[] = [];
    let chunklen = 0;
    let lastPos = 0;
    if (!chunk?.length) {
      done();
      return;
    }
    this.inByteCount += chunk.length;
    for (let i = 0, len = chunk.length; i < len; i++) {
      const byte = chunk[i];
      const prev = i ? chunk[i - 1] : this.lastByte;
      let insert: Buffer | false = false;
      if (prev === 0x0d && byte !== 0x0a) insert = Buffer.from(byte === 0x2e ? '\n.' : '\n');
      else if (byte === 0x0a && prev !== 0x0d) insert = Buffer.from('\r');
      else if (byte === 0x2e && (prev === 0x0a || prev === false)) insert = Buffer.from('.');
      if (insert) {
        if (i > lastPos) {
          const buf = chunk.subarray(lastPos, i);
          chunks.push(buf);
          chunklen += buf.length;
        }
        chunks.push(insert);
        chunklen += insert.length;
        lastPos = i;
      }
    }
    if (chunks.length) {
      if (lastPos < chunk.length) {
        const buf = chunk.subarray(lastPos);
        chunks.push(buf);
        chunklen += buf.length;
      }
      this.outByteCount += chunklen;
      this.push(Buffer.concat(chunks, chunklen));
    } else {
      this.outByteCount += chunk.length;
      this.push(chunk);
    }
    this.lastByte = chunk[chunk.length - 1]!;
    done();
  }

  override _flush(done: () => void): void {
    const buf = Buffer.from(
      this.lastByte === 0x0a ? '.\r\n' : this.lastByte === 0x0d ? '\n.\r\n' : '\r\n.\r\n',
    );
    this.outByteCount += buf.length;
    this.push(buf);
    done();
  }
}

async function run(
  stream: Transform & { inByteCount: number; outByteCount: number },
  parts: Buffer[],
): Promise<{ out: Buffer; inBytes: number; outBytes: number }> {
  const out: Buffer[] = [];
  stream.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  for (const p of parts) stream.write(p);
  stream.end();
  await ended;
  return { out: Buffer.concat(out), inBytes: stream.inByteCount, outBytes: stream.outByteCount };
}

/** a small seeded PRNG, so a failure can be replayed */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function chunked(input: Buffer, rand: () => number): Buffer[] {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < input.length) {
    const n = 1 + Math.floor(rand() * (rand() < 0.3 ? 4 : 64));
    parts.push(input.subarray(at, at + n));
    at += n;
  }
  return parts;
}

describe('nodemailer DataStream patch', () => {
  it('is applied to both of nodemailer builds', () => {
    for (const Impl of [DataStream, CjsDataStream]) {
      expect(typeof (Impl.prototype as unknown as Record<string, unknown>)._needsNoChange).toBe('function');
    }
  });

  it('writes exactly what the original loop writes, for random CR / LF / dot-heavy input in random chunks', async () => {
    const alphabet = [0x0d, 0x0a, 0x2e, 0x61, 0xd8, 0x20];
    for (let seed = 1; seed <= 400; seed++) {
      const rand = prng(seed);
      const input = Buffer.alloc(Math.floor(rand() * 300));
      for (let i = 0; i < input.length; i++) input[i] = alphabet[Math.floor(rand() * alphabet.length)]!;
      const parts = chunked(input, rand);
      const want = await run(new OriginalDataStream(), parts);
      for (const Impl of [DataStream, CjsDataStream]) {
        const got = await run(new Impl(), parts);
        expect({ seed, ...got }).toEqual({ seed, ...want });
      }
    }
  });

  it('writes exactly what the original loop writes, for CRLF lines with the odd bare CR, bare LF or leading dot', async () => {
    // mostly clean input, so the fast path is taken and its edge cases (a CR ending a chunk, a
    // defect right at a chunk's start or end) are met
    for (let seed = 1; seed <= 600; seed++) {
      const rand = prng(seed * 7919);
      let text = '';
      const lines = 1 + Math.floor(rand() * 40);
      for (let l = 0; l < lines; l++) {
        const r = rand();
        const start = r < 0.04 ? '.' : '';
        const body = 'x'.repeat(Math.floor(rand() * 6));
        const end = r > 0.97 ? '\n' : r > 0.94 ? '\r' : '\r\n';
        text += start + body + end;
      }
      const parts = chunked(Buffer.from(text), rand);
      const want = await run(new OriginalDataStream(), parts);
      for (const Impl of [DataStream, CjsDataStream]) {
        const got = await run(new Impl(), parts);
        expect({ seed, ...got }).toEqual({ seed, ...want });
      }
    }
  });

  it('stuffs dots and repairs line endings in a message', async () => {
    const input = Buffer.from('.a\r\n.b\nc\rd\r.e\r\n\r\n..\r\nend');
    const { out } = await run(new DataStream(), [input]);
    expect(out.toString()).toBe('..a\r\n..b\r\nc\r\nd\r\n..e\r\n\r\n...\r\nend\r\n.\r\n');
  });

  it('passes a clean CRLF message through as the same buffer', async () => {
    const input = Buffer.from('Subject: x\r\n\r\nline one\r\nline two\r\n');
    const stream = new DataStream();
    const out: Buffer[] = [];
    stream.on('data', (c: Buffer) => out.push(c));
    stream.end(input);
    await new Promise((resolve) => stream.on('end', resolve));
    expect(out[0]).toBe(input);
  });
});
