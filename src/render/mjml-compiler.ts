/**
 * The only place MJML runs. Every call is counted so tests and the benchmark can show that an
 * edition costs one compile however many readers it goes to.
 */
import mjml2html from 'mjml';
import { TEMPLATES_DIR } from './templates-dir.js';

let compiles = 0;

/** Process-wide number of MJML compiles so far. */
export function getCompileCount(): number {
  return compiles;
}

export class MjmlCompileError extends Error {
  readonly code = 'GZ_ERR_MJML';
}

/**
 * Compiles an MJML document built by the template registry. Includes are refused twice over:
 * the registry escapes all content (so `<mj-include` cannot come from an article), and MJML is
 * told to ignore includes in case a template author adds one.
 */
export async function compileMjml(source: string, direction: 'rtl' | 'ltr'): Promise<string> {
  if (source.includes('<mj-include')) throw new MjmlCompileError('mj-include is not allowed in templates');
  compiles++;
  let result: Awaited<ReturnType<typeof mjml2html>>;
  try {
    // mjml 5 returns a Promise from mjml2html (it was synchronous up to v4).
    result = await mjml2html(source, {
      validationLevel: 'strict',
      ignoreIncludes: true,
      filePath: TEMPLATES_DIR,
      fonts: {},
      keepComments: true,
    });
  } catch (err) {
    throw new MjmlCompileError(`MJML compile failed: ${(err as Error).message}`, { cause: err });
  }
  if (result.errors.length > 0) {
    throw new MjmlCompileError(`MJML: ${result.errors.map((e) => e.formattedMessage).join('; ')}`);
  }
  const html = compactHtml(result.html);
  return direction === 'rtl' ? alignColumnsRight(html) : html;
}

/**
 * MJML hard-codes `text-align:left` on column containers even when they are `direction:rtl`; a
 * client that ignores the inner `text-align:right` (or content without its own alignment) would
 * then hug the left edge. Only styles already marked rtl are touched.
 */
function alignColumnsRight(html: string): string {
  return html.replace(
    /style="([^"]*direction:rtl[^"]*)"/g,
    (_whole, style: string) => `style="${style.replace('text-align:left', 'text-align:right')}"`,
  );
}

/**
 * MJML indents generously; the indentation is pure weight against Gmail's ~100 KB clipping.
 * Leading whitespace and blank lines are dropped; a newline still separates what was separated,
 * so rendering does not change (the output has no <pre>).
 */
function compactHtml(html: string): string {
  return html
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join('\n');
}
