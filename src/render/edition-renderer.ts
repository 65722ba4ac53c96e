/**
 * renderEdition: one MJML compile per edition (language x template x article set); the result
 * carries personal tokens that personalize() or the MIME builder fill per reader.
 */
import type { Language, Publication } from '../publication.js';
import { type ArticleLinks, articleLinks } from './article-links.js';
import {
  bylineHtml,
  bylineText,
  type CleanArticle,
  cleanArticle,
  textLine,
  truncate,
} from './article-view.js';
import { formatLongDate } from './date-format.js';
import { cutSpan, DEFAULT_MAX_HTML_BYTES, markerPair, stripMarkers, wireBytes } from './html-budget.js';
import { layoutProps, textFooter } from './layout.js';
import { formatText, type LocaleStrings, localeStrings } from './locale-strings.js';
import { compileMjml } from './mjml-compiler.js';
import { MOST_READ_SPAN, mostReadArticles, mostReadText, mostReadView } from './most-read.js';
import { type GreetingPair, PERSONAL_TOKENS } from './personalization.js';
import {
  type OmitReason,
  type RenderEditionInput,
  RenderError,
  type RenderedEdition,
} from './render-types.js';
import { escapeHtml, SafeHtml, safeUrl } from './safe-text.js';
import { type ArticleView, buildMjml } from './template-registry.js';

const OTHER_GROUP = 'other';

interface Group {
  id: string;
  label: string;
  items: CleanArticle[];
}

function groupByTopic(
  articles: CleanArticle[],
  publication: Publication,
  language: Language,
  strings: LocaleStrings,
): Group[] {
  const groups: Group[] = publication.topics.map((t) => ({ id: t.id, label: t.label[language], items: [] }));
  const other: Group = { id: OTHER_GROUP, label: strings.digest.otherTopic, items: [] };
  for (const article of articles) {
    (groups.find((g) => g.id === article.topicId) ?? other).items.push(article);
  }
  return [...groups, other].filter((g) => g.items.length > 0);
}

function articleView(
  article: CleanArticle,
  strings: LocaleStrings,
  kicker: string,
  links: ArticleLinks,
): ArticleView {
  return {
    ...markerPair(`item-${article.rank}`),
    url: links.href(article),
    title: article.title,
    summary: article.summary,
    byline: bylineHtml(article, strings),
    image: article.image,
    breaking: article.breaking,
    breakingLabel: strings.article.breaking,
    kicker,
  };
}

/**
 * Subjects lead with the news, not the brand (the brand is already the sender's name): the top
 * headline and how many stories follow, cut to fit a subject line. 78 is RFC 5322's line
 * length and about what a desktop client shows; a phone shows the first ~40, the headline.
 */
export const SUBJECT_MAX_CHARS = 78;

function moreStories(input: RenderEditionInput, strings: LocaleStrings, count: number): string {
  if (count <= 0) return '';
  const { locale, numberingSystem } = input.publication.locales[input.language];
  const category = new Intl.PluralRules(locale).select(count);
  const patterns = strings.subject.moreStories;
  const pattern = patterns[category] ?? patterns.other;
  const digits = new Intl.NumberFormat(locale, numberingSystem ? { numberingSystem } : {});
  return formatText(pattern, { count: digits.format(count) });
}

/** A title that already opens with a breaking term ("عاجل: …") is not prefixed a second time. */
function opensWithBreakingTerm(title: string, terms: readonly string[]): boolean {
  const opening = title
    .trimStart()
    .replace(/^[[(«"'\s]+/, '')
    .toLocaleLowerCase();
  return terms.some((term) => {
    const t = term.trim().toLocaleLowerCase();
    if (!t || !opening.startsWith(t)) return false;
    const next = opening.charAt(t.length);
    return next === '' || !/[\p{L}\p{N}]/u.test(next);
  });
}

function subjectFor(
  input: RenderEditionInput,
  strings: LocaleStrings,
  lead: CleanArticle,
  others: number,
): string {
  if (input.template === 'alert') {
    const title = truncate(lead.title, 120);
    const terms = [...input.publication.breakingTerms, strings.article.breaking];
    return opensWithBreakingTerm(lead.title, terms) ? title : formatText(strings.subject.alert, { title });
  }
  const pattern = {
    daily: strings.subject.digestDaily,
    weekly: strings.subject.digestWeekly,
    immediate: strings.subject.digestImmediate,
  }[input.frequency];
  const more = moreStories(input, strings, others);
  const room = SUBJECT_MAX_CHARS - formatText(pattern, { headline: '', more }).length;
  return formatText(pattern, { headline: truncate(lead.title, Math.max(room, 24)), more });
}

/**
 * The inbox snippet after the subject: the subject already names the lead story, so a digest's
 * snippet lists the next headlines (an alert's gives the lead's summary).
 */
function preheaderFor(isDigest: boolean, lead: CleanArticle, rest: readonly CleanArticle[]): string {
  if (!isDigest || rest.length === 0) return lead.summary || lead.title;
  return truncate(
    rest
      .slice(0, 3)
      .map((a) => a.title)
      .join(' · '),
    160,
  );
}

function introFor(input: RenderEditionInput, strings: LocaleStrings, date: string): string {
  const pattern = {
    daily: strings.digest.introDaily,
    weekly: strings.digest.introWeekly,
    immediate: strings.digest.introImmediate,
  }[input.frequency];
  return formatText(pattern, { date });
}

const tokenHtml = (name: keyof typeof PERSONAL_TOKENS) => new SafeHtml(PERSONAL_TOKENS[name]);

export async function renderEdition(input: RenderEditionInput): Promise<RenderedEdition> {
  const { language, publication, template } = input;
  const strings = localeStrings(language);
  if (!input.editionId) throw new RenderError('editionId is required');
  if (template === 'alert' && input.articles.length !== 1) {
    throw new RenderError(`an alert carries exactly one article, got ${input.articles.length}`);
  }

  const omitted: { id: string; reason: OmitReason }[] = [];
  const valid: CleanArticle[] = [];
  input.articles.forEach((article, rank) => {
    const clean = cleanArticle(article, rank, publication);
    if (clean) valid.push(clean);
    else omitted.push({ id: article.id, reason: 'invalid-url' });
  });
  const limit =
    input.frequency === 'weekly' ? publication.digest.weeklyMaxItems : publication.digest.maxItems;
  for (const article of valid.splice(limit)) omitted.push({ id: article.id, reason: 'count-limit' });
  const [lead, ...rest] = valid;
  if (!lead) throw new RenderError(`edition ${input.editionId} has no renderable article`);
  const popular = mostReadArticles(input, valid);
  const links = articleLinks(input, [...valid, ...popular]);

  const date = formatLongDate(publication, language, input.date);
  // The subject counts the stories that survive the size budget; MJML's <title> gets it after.
  const draftSubject = subjectFor(input, strings, lead, rest.length);
  const moreUrl = safeUrl(input.moreUrl) ?? publication.website;
  const isDigest = template === 'digest';
  const layout = layoutProps({
    language,
    publication,
    strings,
    subject: draftSubject,
    preheader: preheaderFor(isDigest, lead, rest),
    dateLine: date,
    links: {
      preferencesUrl: tokenHtml('preferences_url'),
      unsubscribeUrl: tokenHtml('unsubscribe_url'),
      archiveUrl: isDigest ? tokenHtml('archive_url') : '',
    },
  });
  // The alert already has a "breaking" banner; its kicker names the topic instead.
  const topicLabel = publication.topics.find((t) => t.id === lead.topicId)?.label[language] ?? '';
  const leadView = articleView(lead, strings, isDigest ? strings.digest.lead : topicLabel, links);
  const groups = groupByTopic(rest, publication, language, strings);

  const mjml = isDigest
    ? buildMjml('digest', {
        ...layout,
        greeting: tokenHtml('greeting_name'),
        intro: introFor(input, strings, date),
        readMore: strings.article.readMore,
        lead: leadView,
        groups: groups.map((g) => ({
          ...markerPair(`group-${g.id}`),
          label: g.label,
          items: g.items.map((a) => articleView(a, strings, '', links)),
        })),
        mostRead: mostReadView(input, popular, strings, links),
        more: {
          ...markerPair('more'),
          url: moreUrl,
          label: formatText(strings.digest.more, { publication: publication.name[language] }),
        },
      })
    : buildMjml('alert', {
        ...layout,
        breakingLabel: strings.article.breaking,
        readMore: strings.article.readMore,
        lead: leadView,
      });

  let html = await compileMjml(mjml, strings.direction);
  const budget = input.maxHtmlBytes ?? DEFAULT_MAX_HTML_BYTES;
  // The most-read section goes first, then the lowest-priority items, until the HTML fits; the
  // lead story always stays.
  let mostReadShown = popular;
  if (wireBytes(html) > budget && popular.length > 0) {
    html = cutSpan(html, MOST_READ_SPAN);
    mostReadShown = [];
  }
  const kept = [...rest].sort((a, b) => a.rank - b.rank);
  while (wireBytes(html) > budget && kept.length > 0) {
    const dropped = kept.pop()!;
    omitted.push({ id: dropped.id, reason: 'size-limit' });
    html = cutSpan(html, `item-${dropped.rank}`);
    const groupId =
      dropped.topicId && groups.some((g) => g.id === dropped.topicId) ? dropped.topicId : OTHER_GROUP;
    if (!kept.some((a) => (a.topicId ?? OTHER_GROUP) === groupId)) html = cutSpan(html, `group-${groupId}`);
  }
  const subject = subjectFor(input, strings, lead, kept.length);
  if (subject !== draftSubject) {
    html = html.replace(
      `<title>${escapeHtml(draftSubject)}</title>`,
      `<title>${escapeHtml(subject)}</title>`,
    );
  }
  const showMore = isDigest && (omitted.length > 0 || input.moreUrl !== undefined);
  if (!showMore) html = cutSpan(html, 'more');
  html = stripMarkers(html);

  const keptIds = new Set(kept.map((a) => a.id));
  const text = editionText({
    input,
    strings,
    date,
    lead,
    links,
    mostRead: mostReadShown,
    groups: groups
      .map((g) => ({ ...g, items: g.items.filter((a) => keptIds.has(a.id)) }))
      .filter((g) => g.items.length > 0),
    more: showMore ? moreUrl : null,
  });

  const greeting: GreetingPair = { named: strings.greeting.named, generic: strings.greeting.generic };
  return {
    editionId: input.editionId,
    subject,
    html,
    text,
    greeting,
    compileCount: 1,
    included: [lead.id, ...kept.map((a) => a.id)],
    omitted,
    links: links.list,
    htmlBytes: wireBytes(html),
  };
}

function articleText(
  article: CleanArticle,
  strings: LocaleStrings,
  language: Language,
  bullet: string,
  links: ArticleLinks,
): string[] {
  const lines = [textLine(`${bullet}${article.title}`, language)];
  if (article.summary) lines.push(textLine(article.summary, language));
  const byline = bylineText(article, strings);
  if (byline) lines.push(textLine(byline, language));
  lines.push(links.text(article), '');
  return lines;
}

function editionText(args: {
  input: RenderEditionInput;
  strings: LocaleStrings;
  date: string;
  lead: CleanArticle;
  links: ArticleLinks;
  mostRead: CleanArticle[];
  groups: Group[];
  more: string | null;
}): string {
  const { input, strings, lead, links } = args;
  const { language, publication } = input;
  const isDigest = input.template === 'digest';
  const lines = [textLine(publication.name[language], language), textLine(args.date, language), ''];
  if (isDigest) {
    lines.push(PERSONAL_TOKENS.greeting_name, textLine(introFor(input, strings, args.date), language), '');
  }
  const leadLabel = isDigest ? strings.digest.lead : strings.article.breaking;
  lines.push(textLine(`== ${leadLabel} ==`, language), ...articleText(lead, strings, language, '', links));
  for (const group of args.groups) {
    lines.push(textLine(`== ${group.label} ==`, language), '');
    for (const article of group.items) lines.push(...articleText(article, strings, language, '- ', links));
  }
  lines.push(...mostReadText(input, args.mostRead, strings, links, language));
  if (args.more) {
    lines.push(
      textLine(`${formatText(strings.digest.more, { publication: publication.name[language] })}:`, language),
      args.more,
    );
  }
  lines.push(
    ...textFooter({
      language,
      publication,
      strings,
      links: {
        preferencesUrl: PERSONAL_TOKENS.preferences_url,
        unsubscribeUrl: PERSONAL_TOKENS.unsubscribe_url,
        archiveUrl: isDigest ? PERSONAL_TOKENS.archive_url : '',
      },
    }),
  );
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}
