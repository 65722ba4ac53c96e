/**
 * The OpenAPI document's shape beyond what @fastify/swagger does by itself: shared schemas keep
 * their `$id` as their component name (not `def-0`), and every route schema that carries a
 * `title` becomes one named component referenced from each place it is used, so a publisher's
 * developer reads "SubscribeRequest" rather than the same object inlined ten times.
 */

type Json = unknown;
type Doc = { components?: { schemas?: Record<string, Json> }; paths?: Json };

export const refResolver = {
  buildLocalReference(json: { $id?: unknown }, _baseUri: unknown, _fragment: unknown, i: number): string {
    return typeof json.$id === 'string' ? json.$id : `def-${i}`;
  },
};

const isSchema = (node: Record<string, Json>) =>
  'type' in node || 'anyOf' in node || 'allOf' in node || 'oneOf' in node || 'properties' in node;

/**
 * Hoists titled schemas into components.schemas, inner ones first. A title already taken by a
 * different schema stays inline rather than silently pointing at the wrong one.
 */
export function nameSchemas({ openapiObject }: { openapiObject: Partial<Doc> }): Partial<Doc> {
  const components = openapiObject.components ?? {};
  const named = components.schemas ?? {};
  const seen = new Map<string, string>();
  for (const [name, schema] of Object.entries(named)) seen.set(name, JSON.stringify(schema));

  const hoist = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(hoist);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(node)) out[k] = k === 'example' || k === 'examples' ? v : hoist(v);
    const title = out.title;
    if (typeof title !== 'string' || !isSchema(out)) return out;
    const text = JSON.stringify(out);
    const known = seen.get(title);
    if (known === undefined) {
      seen.set(title, text);
      named[title] = out;
    } else if (known !== text) {
      return out;
    }
    return { $ref: `#/components/schemas/${title}` };
  };

  openapiObject.paths = hoist(openapiObject.paths);
  return { ...openapiObject, components: { ...components, schemas: named } };
}
