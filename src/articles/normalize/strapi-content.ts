import { encode } from 'html-entities';
import { isObject } from './fields.js';
import { replaceImages, replaceLinks } from './markdown-inline.js';

/**
 * Strapi rich text comes as Blocks JSON (Strapi 5's editor), Markdown (the v4 "Rich text" field) or
 * HTML (CKEditor plugin). All three become HTML here; sanitising happens afterwards in common.ts, so
 * nothing in this file has to be safe on its own, only faithful.
 */
export function strapiContentToHtml(content: unknown): string {
  if (Array.isArray(content)) return content.map(blockToHtml).join('\n');
  if (typeof content !== 'string') return '';
  return /<(?:p|div|h[1-6]|ul|ol|blockquote|figure|br)\b/i.test(content) ? content : markdownToHtml(content);
}

function children(node: Record<string, unknown>): string {
  return Array.isArray(node.children) ? node.children.map(inlineToHtml).join('') : '';
}

function blockToHtml(node: unknown): string {
  if (!isObject(node)) return '';
  switch (node.type) {
    case 'paragraph':
      return `<p>${children(node)}</p>`;
    case 'heading': {
      const level = typeof node.level === 'number' && node.level >= 1 && node.level <= 6 ? node.level : 2;
      return `<h${level}>${children(node)}</h${level}>`;
    }
    case 'quote':
      return `<blockquote>${children(node)}</blockquote>`;
    case 'code':
      return `<pre><code>${children(node)}</code></pre>`;
    case 'list': {
      const tag = node.format === 'ordered' ? 'ol' : 'ul';
      const items = Array.isArray(node.children) ? node.children.map(blockToHtml).join('') : '';
      return `<${tag}>${items}</${tag}>`;
    }
    case 'list-item':
      return `<li>${children(node)}</li>`;
    case 'image': {
      const image = isObject(node.image) ? node.image : {};
      if (typeof image.url !== 'string') return '';
      const alt = typeof image.alternativeText === 'string' ? image.alternativeText : '';
      return `<figure><img src="${attr(image.url)}" alt="${attr(alt)}"></figure>`;
    }
    default:
      return children(node);
  }
}

function inlineToHtml(node: unknown): string {
  if (!isObject(node)) return '';
  if (node.type === 'link') {
    const url = typeof node.url === 'string' ? node.url : '';
    return `<a href="${attr(url)}">${children(node)}</a>`;
  }
  if (node.type === 'text' || typeof node.text === 'string') {
    let html = encode(typeof node.text === 'string' ? node.text : '');
    if (node.code) html = `<code>${html}</code>`;
    if (node.bold) html = `<strong>${html}</strong>`;
    if (node.italic) html = `<em>${html}</em>`;
    if (node.underline) html = `<u>${html}</u>`;
    if (node.strikethrough) html = `<s>${html}</s>`;
    return html;
  }
  return children(node);
}

function attr(value: string): string {
  return encode(value, { mode: 'specialChars' });
}

/**
 * The Markdown a newsroom writes in a v4 rich text field: paragraphs, # headings, > quotes, - and 1.
 * lists, **bold**, *italic*, [links](url) and ![images](url). Anything rarer stays as its text.
 */
export function markdownToHtml(markdown: string): string {
  return markdown
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((block) => block.trim())
    .filter(Boolean)
    .map(markdownBlock)
    .join('\n');
}

function markdownBlock(block: string): string {
  const heading = /^(#{1,6})\s+(.*)$/s.exec(block);
  if (heading) return `<h${heading[1]!.length}>${inline(heading[2]!)}</h${heading[1]!.length}>`;
  const lines = block.split('\n');
  if (lines.every((l) => /^>\s?/.test(l))) {
    return `<blockquote>${inline(lines.map((l) => l.replace(/^>\s?/, '')).join(' '))}</blockquote>`;
  }
  if (lines.every((l) => /^[-*+]\s+/.test(l))) {
    return `<ul>${lines.map((l) => `<li>${inline(l.replace(/^[-*+]\s+/, ''))}</li>`).join('')}</ul>`;
  }
  if (lines.every((l) => /^\d+[.)]\s+/.test(l))) {
    return `<ol>${lines.map((l) => `<li>${inline(l.replace(/^\d+[.)]\s+/, ''))}</li>`).join('')}</ol>`;
  }
  return `<p>${lines.map(inline).join('<br>')}</p>`;
}

function inline(text: string): string {
  // Images and links by forward scans (markdown-inline.ts): their patterns were quadratic on "[[[…".
  // The emphasis patterns stay: each attempt stops at the next "*", so they are linear.
  return replaceLinks(replaceImages(encode(text, { mode: 'specialChars' })))
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>');
}
