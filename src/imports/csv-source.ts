import { Readable, Transform } from 'node:stream';
import { parse } from 'csv-parse';
import { GazetteError } from '../errors.js';

/**
 * A CSV upload as a stream of records, never held whole: the head is peeked to choose the
 * separator (`,` `;` or tab, whichever the header line has most of outside quotes), then the same
 * bytes and the rest of the stream go through csv-parse (BOM stripped, quoted fields with commas,
 * quotes and line breaks, CRLF or LF).
 */
export type Delimiter = ',' | ';' | '\t';

export interface CsvSource {
  delimiter: Delimiter;
  header: string[];
  /** data records after the header, numbered from 2 (the file's line of a one-line record) */
  records: AsyncIterable<string[]>;
}

const HEAD_BYTES = 64 * 1024;

export const badFile = (message: string) => new GazetteError('GZ_BAD_FILE', message, 400, 'file');

/** Counts each candidate separator outside quotes on the first line. */
export function sniffDelimiter(head: string): Delimiter {
  const counts: Record<Delimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of head.replace(/^\uFEFF/, '')) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && ch in counts) counts[ch as Delimiter]++;
  }
  const best = (Object.keys(counts) as Delimiter[]).sort((a, b) => counts[b] - counts[a])[0]!;
  return counts[best] > 0 ? best : ',';
}

const tooLarge = (maxBytes: number) =>
  new GazetteError('GZ_TOO_LARGE', `the file is larger than IMPORT_MAX_BYTES (${maxBytes} bytes)`, 413);

/**
 * Chunks of the upload, with a byte cap: a file over it fails as a 413 naming the limit. A request
 * stream is piped through a counter rather than iterated itself: iterating it and stopping early
 * (a preview, a refused file) would destroy the request and its socket before the answer is sent;
 * unpiped, the rest of the body is drained instead.
 */
function capped(source: Readable | AsyncIterable<Buffer | string>, maxBytes: number): AsyncGenerator<Buffer> {
  let seen = 0;
  const count = (chunk: Buffer | string): Buffer => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    seen += buf.length;
    if (seen > maxBytes) throw tooLarge(maxBytes);
    return buf;
  };
  if (source instanceof Readable) {
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        try {
          done(null, count(chunk));
        } catch (err) {
          done(err as Error);
        }
      },
    });
    counter.on('close', () => {
      source.unpipe(counter);
      source.resume();
    });
    // pipe() does not pass errors on: an upload that breaks off must end the import, not hang it
    source.once('error', (err) => counter.destroy(err));
    source.once('close', () => {
      if (!source.readableEnded) counter.destroy(badFile('the upload broke off before the end of the file'));
    });
    source.pipe(counter);
    return (async function* () {
      for await (const chunk of counter) yield chunk as Buffer;
    })();
  }
  return (async function* () {
    for await (const chunk of source) yield count(chunk);
  })();
}

export async function openCsv(
  stream: Readable | AsyncIterable<Buffer | string>,
  maxBytes: number,
): Promise<CsvSource> {
  const chunks = capped(stream, maxBytes);
  const head: Buffer[] = [];
  let headLength = 0;
  let done = false;
  while (headLength < HEAD_BYTES) {
    const next = await chunks.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    headLength += next.value.length;
    if (next.value.includes(10)) break; // a whole first line is enough to sniff
  }
  const headText = Buffer.concat(head).toString('utf8');
  if (headText.replace(/^\uFEFF/, '').trim() === '') throw badFile('the file is empty');
  const delimiter = sniffDelimiter(headText);

  const parser = parse({
    bom: true,
    delimiter,
    relax_column_count: true,
    skip_empty_lines: true,
    // a field with a stray quote inside ("5" screen") is taken as it is rather than failing the file
    relax_quotes: true,
    max_record_size: 64 * 1024,
  });
  const feed = async () => {
    try {
      for (const b of head) if (!parser.write(b)) await new Promise((r) => parser.once('drain', r));
      if (!done) {
        for await (const b of { [Symbol.asyncIterator]: () => chunks }) {
          if (!parser.write(b)) await new Promise((r) => parser.once('drain', r));
        }
      }
      parser.end();
    } catch (err) {
      parser.destroy(err as Error);
    }
  };
  void feed();

  const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<string[]>;
  const first = await nextRecord(iterator);
  if (first.done) throw badFile('the file has no header line');
  const header = first.value.map((h) => h.trim());
  if (header.every((h) => h === '')) throw badFile('the header line is empty');
  return {
    delimiter,
    header,
    records: {
      [Symbol.asyncIterator]: () => ({
        next: () => nextRecord(iterator),
        return: async () => {
          parser.destroy();
          await chunks.return(undefined);
          return { done: true, value: undefined };
        },
      }),
    },
  };
}

/** csv-parse errors (an unclosed quote, a record over the size cap) become a 400 naming the line. */
async function nextRecord(it: AsyncIterator<string[]>): Promise<IteratorResult<string[]>> {
  try {
    return await it.next();
  } catch (err) {
    if (err instanceof GazetteError) throw err;
    const e = err as { code?: string; lines?: number; message: string };
    if (e.code?.startsWith('CSV_'))
      throw badFile(`not a readable CSV file near line ${e.lines ?? '?'}: ${e.message}`);
    throw err;
  }
}
