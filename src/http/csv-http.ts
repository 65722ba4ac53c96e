import { Readable } from 'node:stream';
import type { MultipartFile } from '@fastify/multipart';
import { stringify } from 'csv-stringify';
import type { FastifyRequest } from 'fastify';
import { badFile } from '../imports/csv-source.js';

/** CSV over HTTP, shared by the import API and the console: downloads out, uploads in. */
/** A generator of records as a CSV download (csv-stringify, formulas escaped for spreadsheets). */
export function csvStream(
  columns: readonly string[],
  rows: AsyncIterable<Record<string, unknown>>,
): Readable {
  return Readable.from(rows).pipe(stringify({ header: true, columns: [...columns], escape_formulas: true }));
}

/** The form's file part; a body that is not the multipart form it claims is a 400, not a crash. */
export async function readFilePart(request: FastifyRequest): Promise<MultipartFile | undefined> {
  try {
    return await request.file();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode) throw err;
    throw badFile(`not a readable multipart/form-data body: ${(err as Error).message}`);
  }
}
