import type { ArchivePage } from '../../digests/web-copy.js';
import type { Language, Publication } from '../../publication.js';
import { html, messagePage, page } from './layout.js';
import { fmt, pageStrings } from './strings.js';

/** /archive: the latest editions in one language, newest first, paged by date. */
export function archiveIndexPage(o: {
  language: Language;
  publication: Publication;
  archive: ArchivePage;
}): string {
  const { language, publication, archive } = o;
  const s = pageStrings(language).archive;
  const { locale, numberingSystem } = publication.locales[language];
  const date = new Intl.DateTimeFormat(locale, {
    dateStyle: 'full',
    timeZone: publication.timezone,
    numberingSystem,
  });
  const other: Language = language === 'ar' ? 'en' : 'ar';
  return page({
    language,
    publication,
    title: s.title,
    switchHref: `/archive?lang=${other}`,
    body: html`<h1>${s.title}</h1>
<p>${fmt(s.intro, { publication: publication.name[language] })}</p>
${
  archive.entries.length === 0
    ? html`<p>${s.empty}</p>`
    : html`<ol class="archive">
${archive.entries.map(
  (e) =>
    html`<li><a href="${e.url}" dir="auto">${e.subject}</a><br><span class="hint">${e.kind === 'alert' ? s.kinds.alert : s.kinds[e.frequency ?? 'immediate']} · <time datetime="${e.dueAt.toISOString()}">${date.format(e.dueAt)}</time></span></li>`,
)}
</ol>`
}
${archive.next ? html`<p><a href="/archive?lang=${language}&amp;before=${encodeURIComponent(archive.next)}">${s.older}</a></p>` : ''}
<p><a class="button" href="/subscribe?lang=${language}">${s.subscribe}</a></p>`,
  });
}

/** An edition whose articles were all withdrawn. */
export function editionGonePage(language: Language, publication: Publication): string {
  const s = pageStrings(language).archive;
  return messagePage({
    language,
    publication,
    heading: s.gone,
    text: s.goneBody,
    link: { href: `/archive?lang=${language}`, label: s.index },
  });
}
