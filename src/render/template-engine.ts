/**
 * A deliberately tiny template language for the MJML sources in templates/.
 *
 *   {{path.to.value}}        inserts a string or number, HTML-escaped (SafeHtml verbatim)
 *   {{#if path}}…{{else}}…{{/if}}   truthy: non-empty string/array, true, non-zero number
 *   {{#each path}}…{{/each}}  inside, names resolve against the item first, then outward
 *   {{> name}}               inserts templates/partials/<name>.mjml
 *
 * Values are inserted after parsing, so content can never introduce template syntax, MJML tags or
 * mj-include: it arrives as escaped text. Unknown names throw, so a typo fails the render (and the
 * golden tests) instead of silently producing an empty link.
 */
import { escapeHtml, SafeHtml } from './safe-text.js';

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'value'; path: string[] }
  | { kind: 'if'; path: string[]; whenTrue: Node[]; otherwise: Node[] }
  | { kind: 'each'; path: string[]; body: Node[] }
  | { kind: 'partial'; name: string };

export type CompiledTemplate = { readonly name: string; readonly nodes: Node[] };
export type PartialResolver = (name: string) => CompiledTemplate;

export class TemplateError extends Error {
  readonly code = 'GZ_ERR_TEMPLATE';
}

const TAG = /\{\{\s*([#/>]?)\s*([a-zA-Z_][\w.-]*|else)?\s*([a-zA-Z_][\w.]*)?\s*\}\}/g;
const MAX_PARTIAL_DEPTH = 8;
const PARTIAL_NAME = /^[a-z][a-z0-9-]*$/;

export function parseTemplate(name: string, source: string): CompiledTemplate {
  const root: Node[] = [];
  // Open blocks; `target` is where the next node goes (then/otherwise/body of the innermost block).
  const stack: { node: Extract<Node, { kind: 'if' | 'each' }>; target: Node[] }[] = [];
  let target = root;
  let last = 0;
  for (const match of source.matchAll(TAG)) {
    const [whole, sigil, word, arg] = match;
    const at = match.index;
    if (at > last) target.push({ kind: 'text', text: source.slice(last, at) });
    last = at + whole.length;
    const where = `${name} at offset ${at}`;
    if (!word) throw new TemplateError(`${where}: empty tag`);
    if (sigil === '#') {
      if (!arg || (word !== 'if' && word !== 'each')) throw new TemplateError(`${where}: bad block ${whole}`);
      const node: Extract<Node, { kind: 'if' | 'each' }> =
        word === 'if'
          ? { kind: 'if', path: arg.split('.'), whenTrue: [], otherwise: [] }
          : { kind: 'each', path: arg.split('.'), body: [] };
      target.push(node);
      target = node.kind === 'if' ? node.whenTrue : node.body;
      stack.push({ node, target });
    } else if (sigil === '/') {
      const open = stack.pop();
      if (!open || open.node.kind !== word) throw new TemplateError(`${where}: unexpected ${whole}`);
      target = stack.at(-1)?.target ?? root;
    } else if (sigil === '>') {
      if (!PARTIAL_NAME.test(word) || arg) throw new TemplateError(`${where}: bad partial ${whole}`);
      target.push({ kind: 'partial', name: word });
    } else if (word === 'else') {
      const open = stack.at(-1);
      if (open?.node.kind !== 'if') throw new TemplateError(`${where}: else outside if`);
      open.target = open.node.otherwise;
      target = open.target;
    } else {
      if (arg) throw new TemplateError(`${where}: bad tag ${whole}`);
      target.push({ kind: 'value', path: word.split('.') });
    }
  }
  if (stack.length > 0) throw new TemplateError(`${name}: unclosed {{#${stack.at(-1)!.node.kind}}}`);
  if (last < source.length) root.push({ kind: 'text', text: source.slice(last) });
  const stray = root.some(function hasStray(node: Node): boolean {
    if (node.kind === 'text') return node.text.includes('{{');
    if (node.kind === 'if') return node.whenTrue.some(hasStray) || node.otherwise.some(hasStray);
    if (node.kind === 'each') return node.body.some(hasStray);
    return false;
  });
  // A "{{" the tag grammar did not accept is a typo, not text to pass through to MJML.
  if (stray) throw new TemplateError(`${name}: malformed tag near "{{"`);
  return { name, nodes: root };
}

type Scope = readonly unknown[];

function lookup(scopes: Scope, path: string[], where: string): unknown {
  const [head, ...rest] = path;
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    if (scope !== null && typeof scope === 'object' && Object.hasOwn(scope, head!)) {
      let value: unknown = (scope as Record<string, unknown>)[head!];
      for (const key of rest) {
        if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) {
          throw new TemplateError(`${where}: no value for ${path.join('.')}`);
        }
        value = (value as Record<string, unknown>)[key];
      }
      return value;
    }
  }
  throw new TemplateError(`${where}: no value for ${path.join('.')}`);
}

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value instanceof SafeHtml) return value.html.length > 0;
  return Boolean(value);
}

function renderNodes(
  nodes: Node[],
  scopes: Scope,
  template: CompiledTemplate,
  partials: PartialResolver,
  out: string[],
  depth = 0,
): void {
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out.push(node.text);
        break;
      case 'value': {
        const value = lookup(scopes, node.path, template.name);
        if (value instanceof SafeHtml) out.push(value.html);
        else if (typeof value === 'string') out.push(escapeHtml(value));
        else if (typeof value === 'number' && Number.isFinite(value)) out.push(String(value));
        else throw new TemplateError(`${template.name}: ${node.path.join('.')} is not text`);
        break;
      }
      case 'if':
        renderNodes(
          truthy(lookup(scopes, node.path, template.name)) ? node.whenTrue : node.otherwise,
          scopes,
          template,
          partials,
          out,
          depth,
        );
        break;
      case 'each': {
        const list = lookup(scopes, node.path, template.name);
        if (!Array.isArray(list))
          throw new TemplateError(`${template.name}: ${node.path.join('.')} is not a list`);
        for (const item of list) renderNodes(node.body, [...scopes, item], template, partials, out, depth);
        break;
      }
      case 'partial': {
        // A partial that includes itself would recurse until the stack overflows.
        if (depth >= MAX_PARTIAL_DEPTH) throw new TemplateError(`${template.name}: partials nested too deep`);
        const partial = partials(node.name);
        renderNodes(partial.nodes, scopes, partial, partials, out, depth + 1);
        break;
      }
    }
  }
}

export function renderTemplate(template: CompiledTemplate, data: object, partials: PartialResolver): string {
  const out: string[] = [];
  renderNodes(template.nodes, [data], template, partials, out);
  return out.join('');
}
