import { PayloadError } from '../types.js';

/**
 * Readers for parsed JSON that name the failing field in the PayloadError, so a publisher reading
 * the webhook log sees "post.post_title: required" rather than a TypeError from deep inside.
 */

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function objectAt(value: unknown, path: string): Json {
  if (!isObject(value))
    throw new PayloadError(`${path}: ${value === undefined ? 'required' : 'must be an object'}`);
  return value;
}

/** A non-empty string (numbers are accepted for ids, which PHP and some CMSes send as either). */
export function stringAt(obj: Json, key: string, path: string): string {
  const value = optionalStringAt(obj, key, path);
  if (value === undefined) throw new PayloadError(`${path}.${key}: required`);
  return value;
}

export function optionalStringAt(obj: Json, key: string, path: string): string | undefined {
  const value = obj[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') throw new PayloadError(`${path}.${key}: must be a string`);
  return value.trim() === '' ? undefined : value;
}

/** An id: a positive integer or a non-empty string, returned as a string. */
export function idAt(obj: Json, key: string, path: string): string {
  const value = obj[key];
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  throw new PayloadError(
    `${path}.${key}: ${value === undefined || value === null ? 'required' : 'must be an id'}`,
  );
}

/** A list of names from strings or objects with a `name` (Ghost tags, Strapi relations). */
export function namesAt(value: unknown, path: string): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  const names: string[] = [];
  list.forEach((item, i) => {
    if (typeof item === 'string') names.push(item);
    else if (isObject(item)) {
      const name = item.name ?? item.title ?? item.label;
      if (typeof name !== 'string') throw new PayloadError(`${path}[${i}].name: required`);
      names.push(name);
    } else throw new PayloadError(`${path}[${i}]: must be a string or an object with a name`);
  });
  return names;
}
