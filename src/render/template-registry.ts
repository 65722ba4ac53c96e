/**
 * The template registry: name -> props schema (TypeBox) -> templates/<name>.mjml.
 *
 * Props are the view model the renderers build; checking them against the schema before filling
 * the template catches a renderer/template mismatch with a message naming the field, instead of
 * an MJML error about a broken attribute.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, type Static, type TSchema, Type, TypeRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { SafeHtml } from './safe-text.js';
import { type CompiledTemplate, parseTemplate, renderTemplate, TemplateError } from './template-engine.js';
import { TEMPLATES_DIR } from './templates-dir.js';

if (!TypeRegistry.Has('SafeHtml'))
  TypeRegistry.Set('SafeHtml', (_schema, value) => value instanceof SafeHtml);

const Html = Type.Unsafe<SafeHtml>({ [Kind]: 'SafeHtml' });
/** Text (escaped on insertion) or markup the renderer built. */
const Content = Type.Union([Type.String(), Html]);
/** A validated http(s) URL, or a personalisation token (SafeHtml) substituted per recipient. */
const Link = Type.Union([Type.String({ pattern: '^https?://' }), Html]);
const OptionalLink = Type.Union([Link, Type.Literal('')]);

const Layout = Type.Object({
  lang: Type.Union([Type.Literal('ar'), Type.Literal('en')]),
  dir: Type.Union([Type.Literal('rtl'), Type.Literal('ltr')]),
  align: Type.Union([Type.Literal('right'), Type.Literal('left')]),
  fontStack: Html,
  type: Type.Object({
    text: Type.String(),
    summary: Type.String(),
    headline: Type.String(),
    title: Type.String(),
    meta: Type.String(),
    small: Type.String(),
    lineHeight: Type.String(),
    headingLineHeight: Type.String(),
  }),
  subject: Type.String(),
  preheader: Type.String(),
  preheaderPad: Html,
  website: Type.String({ pattern: '^https?://' }),
  publicationName: Type.String(),
  dateLine: Content,
  postalAddress: Type.String(),
  footer: Type.Object({
    reason: Content,
    preferences: Type.String(),
    unsubscribe: Type.String(),
    viewInBrowser: Type.String(),
    preferencesUrl: OptionalLink,
    unsubscribeUrl: OptionalLink,
    archiveUrl: OptionalLink,
  }),
});

const Image = Type.Object({ src: Type.String({ pattern: '^https?://' }), alt: Type.String() });
const Marker = Html;

export const ArticleViewSchema = Type.Object({
  markerStart: Marker,
  markerEnd: Marker,
  url: Link,
  title: Type.String({ minLength: 1 }),
  summary: Type.String(),
  byline: Content,
  image: Type.Union([Image, Type.Null()]),
  breaking: Type.Boolean(),
  breakingLabel: Type.String(),
  kicker: Type.String(),
});
export type ArticleView = Static<typeof ArticleViewSchema>;

const DigestProps = Type.Composite([
  Layout,
  Type.Object({
    greeting: Html,
    intro: Content,
    readMore: Type.String(),
    lead: ArticleViewSchema,
    groups: Type.Array(
      Type.Object({
        markerStart: Marker,
        markerEnd: Marker,
        label: Type.String(),
        items: Type.Array(ArticleViewSchema),
      }),
    ),
    more: Type.Object({ markerStart: Marker, markerEnd: Marker, url: Type.String(), label: Type.String() }),
    mostRead: Type.Object({
      markerStart: Marker,
      markerEnd: Marker,
      label: Type.String(),
      items: Type.Array(
        Type.Object({ number: Type.String(), url: Link, title: Type.String({ minLength: 1 }) }),
      ),
    }),
  }),
]);

const AlertProps = Type.Composite([
  Layout,
  Type.Object({ breakingLabel: Type.String(), readMore: Type.String(), lead: ArticleViewSchema }),
]);

const ConfirmationProps = Type.Composite([
  Layout,
  Type.Object({
    heading: Type.String(),
    body: Content,
    button: Type.String(),
    confirmUrl: Type.String({ pattern: '^https?://' }),
    confirmUrlText: Html,
    fallback: Type.String(),
    expires: Content,
    ignore: Type.String(),
  }),
]);

const WelcomeProps = Type.Composite([
  Layout,
  Type.Object({
    heading: Content,
    greeting: Content,
    body: Type.String(),
    preferences: Type.String(),
    preferencesButton: Type.String(),
    preferencesUrl: Type.String({ pattern: '^https?://' }),
    unsubscribe: Type.String(),
    unsubscribeLabel: Type.String(),
    unsubscribeUrl: Type.String({ pattern: '^https?://' }),
    websiteText: Html,
    choicesHeading: Type.String(),
    choices: Type.Array(Type.Object({ line: Type.String() })),
  }),
]);

const AlreadySubscribedProps = Type.Composite([
  Layout,
  Type.Object({
    heading: Type.String(),
    body: Content,
    preferences: Type.String(),
    preferencesButton: Type.String(),
    preferencesUrl: Type.String({ pattern: '^https?://' }),
    /** a paused reader: the link that resumes them, and its words ('' for everyone else) */
    keepUrl: Type.Union([Type.Literal(''), Type.String({ pattern: '^https?://' })]),
    resume: Type.String(),
    resumeButton: Type.String(),
    ignore: Type.String(),
    unsubscribe: Type.String(),
    unsubscribeLabel: Type.String(),
    unsubscribeUrl: Type.String({ pattern: '^https?://' }),
  }),
]);

const RepermissionProps = Type.Composite([
  Layout,
  Type.Object({
    heading: Type.String(),
    greeting: Content,
    body: Content,
    button: Type.String(),
    keepUrl: Type.String({ pattern: '^https?://' }),
    grace: Content,
    unsubscribe: Type.String(),
    unsubscribeLabel: Type.String(),
    unsubscribeUrl: Type.String({ pattern: '^https?://' }),
  }),
]);

export const templateSchemas = {
  digest: DigestProps,
  alert: AlertProps,
  confirmation: ConfirmationProps,
  welcome: WelcomeProps,
  'already-subscribed': AlreadySubscribedProps,
  repermission: RepermissionProps,
} satisfies Record<string, TSchema>;

export type TemplateName = keyof typeof templateSchemas;
export type TemplateProps<N extends TemplateName> = Static<(typeof templateSchemas)[N]>;
export type LayoutProps = Static<typeof Layout>;

const compiled = new Map<string, CompiledTemplate>();

function load(relativePath: string): CompiledTemplate {
  let template = compiled.get(relativePath);
  if (!template) {
    template = parseTemplate(relativePath, readFileSync(join(TEMPLATES_DIR, relativePath), 'utf8'));
    compiled.set(relativePath, template);
  }
  return template;
}

const partial = (name: string) => load(join('partials', `${name}.mjml`));

/** Fills templates/<name>.mjml with checked props; the result is an MJML document string. */
export function buildMjml<N extends TemplateName>(name: N, props: TemplateProps<N>): string {
  const schema = templateSchemas[name];
  if (!Value.Check(schema, props)) {
    const first = Value.Errors(schema, props).First();
    throw new TemplateError(`${name} props ${first?.path ?? ''}: ${first?.message ?? 'invalid'}`);
  }
  return renderTemplate(load(`${name}.mjml`), props, partial);
}
