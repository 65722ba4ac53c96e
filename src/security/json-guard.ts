/**
 * JSON from outside (webhook bodies, the public JSON API, fetched WordPress posts) is checked
 * before anything recursive touches it, and its strings before anything stores them:
 *
 * - Nesting is measured by one linear scan of the raw text, before JSON.parse: a body nested
 *   thousands deep would otherwise overflow the stack in whatever walks it next (JSON.stringify,
 *   normalizers, validation). No real CMS payload nests past a dozen levels.
 * - A NUL character or a lone UTF-16 surrogate in any string or key is refused, naming its path:
 *   PostgreSQL cannot store either (jsonb rejects \u0000; text rejects NUL), so they used to reach
 *   the database and answer 500, and the sender retried forever. Refusing, rather than cleaning, keeps
 *   what is stored equal to what was signed, and tells the sender which field to fix.
 */

export const MAX_JSON_DEPTH = 64;

/** What is wrong with a body, and where: `message` starts with `field`. */
export interface JsonProblem {
  field: string;
  message: string;
}

/** Why `text` nests deeper than `max` arrays/objects, or null. Brackets inside strings do not count. */
export function jsonDepthError(text: string, max = MAX_JSON_DEPTH, label = 'body'): JsonProblem | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return { field: label, message: `${label}: nested deeper than ${max} levels` };
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return null;
}

const NUL = /\u0000/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function stringProblem(value: string): string | null {
  if (NUL.test(value)) return 'contains a NUL character (\\u0000)';
  if (LONE_SURROGATE.test(value)) return 'contains a lone UTF-16 surrogate (invalid Unicode)';
  return null;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const child = (path: string, key: string) => {
  if (IDENTIFIER.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key.replace(/[\u0000\ud800-\udfff]/g, '?'))}]`;
};

/**
 * The first string or key in a parsed value that cannot be stored, as "<path> contains …", or null.
 * `label` is the root's name; '' names fields as the HTTP validation errors do ("email", "topics[1]").
 * Iterative, so it is safe on any depth (callers check depth first anyway).
 */
export function unstorableStringError(value: unknown, label = 'body'): JsonProblem | null {
  const stack: Array<[unknown, string]> = [[value, label]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      const problem = stringProblem(node);
      if (problem) return { field: path || 'body', message: `${path || 'body'} ${problem}` };
    } else if (ArrayBuffer.isView(node)) {
      // a raw body (Buffer) is bytes, not strings: its own parser checks it
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${path}[${i}]`]);
    } else if (node !== null && typeof node === 'object') {
      const keys = Object.keys(node);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const problem = stringProblem(key);
        if (problem)
          return { field: child(path, key), message: `${child(path, key)}: the field name ${problem}` };
        stack.push([(node as Record<string, unknown>)[key], child(path, key)]);
      }
    }
  }
  return null;
}

export class UnsafeJsonError extends Error {
  override name = 'UnsafeJsonError';
  constructor(readonly problem: JsonProblem) {
    super(problem.message);
  }
}

/**
 * JSON.parse with both guards; throws UnsafeJsonError (depth, NUL, surrogate) or SyntaxError.
 * `label` names the root in messages ("body").
 */
export function parseGuardedJson(text: string, label = 'body', maxDepth = MAX_JSON_DEPTH): unknown {
  const deep = jsonDepthError(text, maxDepth, label);
  if (deep) throw new UnsafeJsonError(deep);
  const value: unknown = JSON.parse(text);
  const bad = unstorableStringError(value, label);
  if (bad) throw new UnsafeJsonError(bad);
  return value;
}
