import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { ConfigError, parseWithSchema, WEBHOOK_OUT_SECRET_PREFIX } from './config.js';
import { endpointUrlProblem, OUTBOX_EVENT_TYPES } from './outbox/events.js';
import { ShapingSchema } from './shaping/shaping-schema.js';

export const LANGUAGES = ['ar', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

const Localized = Type.Object({ ar: Type.String({ minLength: 1 }), en: Type.String({ minLength: 1 }) });
const TimeZone = Type.String({ minLength: 1, description: 'IANA time zone, e.g. Asia/Damascus' });

const Source = Type.Object({
  language: Type.Union([Type.Literal('ar'), Type.Literal('en')], { default: 'ar' }),
  timezone: Type.Optional(TimeZone),
  /** Base URL of the CMS, for fetching a post when a payload only carries its id (WordPress). */
  siteUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** Header Strapi is configured to send its token in (default Authorization: Bearer). */
  tokenHeader: Type.Optional(Type.String({ minLength: 1 })),
});

/** Placeholders a Strapi URL template may use (normalize/strapi.ts fills them). */
export const STRAPI_URL_PLACEHOLDERS = ['slug', 'id', 'documentId', 'locale', 'model'] as const;

const StrapiSource = Type.Composite([
  Source,
  Type.Object({
    /**
     * The article URL for entries without a url field, e.g. "https://example.com/{locale}/news/{slug}";
     * placeholders {slug} {id} {documentId} {locale} {model}.
     */
    urlTemplate: Type.Optional(Type.String({ pattern: '^https?://', minLength: 8 })),
    /** Models (`model` like "article", or `uid` like "api::article.article") that are articles. */
    models: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    /** Models that are never articles (pages, categories): their events are ignored, not held. */
    ignoredModels: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  }),
]);

const Feed = Type.Object({
  id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }),
  type: Type.Union([Type.Literal('rss'), Type.Literal('atom'), Type.Literal('wordpress')]),
  url: Type.String({ pattern: '^https?://' }),
  language: Type.Optional(Type.Union([Type.Literal('ar'), Type.Literal('en')])),
  timezone: Type.Optional(TimeZone),
  intervalSeconds: Type.Optional(Type.Integer({ minimum: 10 })),
  /** On the first poll, take items up to this many hours old (default 0: only items newer than the source). */
  lookbackHours: Type.Integer({ default: 0, minimum: 0 }),
});

const LocaleSettings = Type.Object({
  /** BCP 47 locale for Intl, e.g. ar-SY (Levantine month names) or en-GB */
  locale: Type.String({ minLength: 2 }),
  /**
   * The digits of everything Gazette writes in this language (dates, counts, hours): "arab" for
   * Arabic-Indic (٠١٢٣), "latn" for Latin (0123), or another Intl numbering system. Omitted: the
   * locale's own (arab for ar-SY, latn for ar-MA and en).
   */
  numberingSystem: Type.Optional(Type.String({ pattern: '^[a-z]{3,8}$' })),
  calendar: Type.Optional(Type.String({ minLength: 3 })),
});

/** Placeholders a UTM campaign may use (render/utm.ts fills them). */
export const UTM_PLACEHOLDERS = ['date', 'kind'] as const;
const UtmValue = Type.String({ minLength: 1, maxLength: 100 });

/**
 * What Gazette learns back from readers. Click tracking is off unless the publisher turns it on
 * (and then the consent text and the preference centre say so, and a reader can opt out).
 */
const Engagement = Type.Object(
  {
    clickTracking: Type.Boolean({ default: false }),
    /** Appended to every article link: utm_source, utm_medium, utm_campaign ({date} {kind}). */
    utm: Type.Optional(Type.Object({ source: UtmValue, medium: UtmValue, campaign: UtmValue })),
    mostRead: Type.Object(
      {
        /** articles in the "most read" section of daily and weekly digests (0: no section) */
        items: Type.Integer({ minimum: 0, maximum: 10, default: 5 }),
        /** how far back the clicks (or the CMS's popularity list) count */
        days: Type.Integer({ minimum: 1, maximum: 60, default: 7 }),
      },
      { default: {} },
    ),
    /**
     * Re-permission (clickTracking only): a reader with no human click for this many days is asked
     * once whether to keep sending; confirmed or answered less than this ago: not asked.
     */
    repermissionAfterDays: Type.Integer({ minimum: 30, maximum: 3650, default: 180 }),
    /** days the question waits for an answer before the reader is paused (not deleted) */
    repermissionGraceDays: Type.Integer({ minimum: 1, maximum: 365, default: 14 }),
  },
  { default: {} },
);

/**
 * An outgoing webhook endpoint (events back to the CMS) kept in the file: synced into
 * webhook_endpoints at every start by its id, read-only in the admin API. The whsec_ secret is not
 * in the file: `secretEnv` names the WEBHOOK_OUT_SECRET_<NAME> variable that holds it.
 */
const WebhookEndpointEntry = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$', maxLength: 64 }),
    url: Type.String({ minLength: 1, maxLength: 2000 }),
    events: Type.Array(Type.String(), { minItems: 1 }),
    secretEnv: Type.String({ minLength: 1 }),
    description: Type.String({ maxLength: 200, default: '' }),
  },
  { additionalProperties: false },
);
export type WebhookEndpointEntry = Static<typeof WebhookEndpointEntry>;

export const PublicationSchema = Type.Object({
  name: Localized,
  website: Type.String({ pattern: '^https?://' }),
  postalAddress: Localized,
  sender: Type.Object({
    name: Localized,
    email: Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$' }),
    replyTo: Type.Optional(Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$' })),
  }),
  timezone: TimeZone,
  locales: Type.Object({ ar: LocaleSettings, en: LocaleSettings }),
  topics: Type.Array(
    Type.Object({ id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' }), label: Localized }),
    {
      minItems: 1,
    },
  ),
  consent: Type.Object({ version: Type.String({ minLength: 1 }), text: Localized }),
  /** Origins allowed as ?redirect= targets of embedded forms. */
  redirectOrigins: Type.Array(Type.String({ pattern: '^https?://[^/]+$' }), { default: [] }),
  /** CMS category or tag name (any case) -> Gazette topic id */
  categoryMap: Type.Record(Type.String(), Type.String(), { default: {} }),
  /** Category or tag names that flag an article as breaking news. */
  breakingTerms: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  sources: Type.Object(
    {
      generic: Type.Optional(Source),
      wordpress: Type.Optional(Source),
      ghost: Type.Optional(Source),
      strapi: Type.Optional(StrapiSource),
    },
    { default: {} },
  ),
  /**
   * Language codes a CMS or feed declares (full tag or primary subtag, any case) -> Gazette language,
   * for codes that are not ar-* or en-* (e.g. "ku": "ar"). A declared code mapped nowhere holds the event.
   */
  languageMap: Type.Record(
    Type.String({ minLength: 1 }),
    Type.Union([Type.Literal('ar'), Type.Literal('en')]),
    {
      default: {},
    },
  ),
  feeds: Type.Array(Feed, { default: [] }),
  /** traffic shaping per receiving provider: MX rules, domains, limits (docs/delivery.md "Providers") */
  shaping: ShapingSchema,
  digest: Type.Object(
    {
      defaultSendHour: Type.Integer({ minimum: 0, maximum: 23, default: 7 }),
      /** 0 = Sunday ... 6 = Saturday */
      weeklyDay: Type.Integer({ minimum: 0, maximum: 6, default: 5 }),
      maxItems: Type.Integer({ minimum: 1, default: 15 }),
      weeklyMaxItems: Type.Integer({ minimum: 1, default: 20 }),
    },
    { default: {} },
  ),
  engagement: Engagement,
  webhooks: Type.Array(WebhookEndpointEntry, { default: [] }),
});

export type Publication = Static<typeof PublicationSchema>;
export type Topic = Publication['topics'][number];

export function parsePublication(input: unknown, label = 'PUBLICATION_CONFIG'): Publication {
  const pub = parseWithSchema(PublicationSchema, input, `${label} field`);
  const topicIds = new Set(pub.topics.map((t) => t.id));
  for (const [name, topic] of Object.entries(pub.categoryMap)) {
    if (!topicIds.has(topic))
      throw new ConfigError(`${label} field categoryMap.${name}: unknown topic "${topic}"`);
  }
  const campaign = pub.engagement.utm?.campaign;
  for (const [, name] of campaign?.matchAll(/\{([^}]*)\}/g) ?? []) {
    if (!(UTM_PLACEHOLDERS as readonly string[]).includes(name ?? '')) {
      throw new ConfigError(
        `${label} field engagement.utm.campaign: unknown placeholder {${name}} (known: {date} {kind})`,
      );
    }
  }
  const strapi = pub.sources.strapi;
  if (strapi?.urlTemplate) {
    const field = `${label} field sources.strapi.urlTemplate`;
    for (const [, name] of strapi.urlTemplate.matchAll(/\{([^}]*)\}/g)) {
      if (!(STRAPI_URL_PLACEHOLDERS as readonly string[]).includes(name ?? '')) {
        throw new ConfigError(
          `${field}: unknown placeholder {${name}} (known: ${STRAPI_URL_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`,
        );
      }
    }
    const probe = strapi.urlTemplate.replace(/\{[^}]*\}/g, 'x');
    if (!/^https?:\/\/[^/?#\s]+/.test(probe) || /\s/.test(probe)) {
      throw new ConfigError(`${field}: must be an absolute http(s) URL with a host`);
    }
  }
  checkWebhookEntries(pub.webhooks, label);
  for (const language of LANGUAGES) {
    const { locale, numberingSystem } = pub.locales[language];
    const field = `${label} field locales.${language}`;
    let resolved: Intl.ResolvedNumberFormatOptions;
    try {
      resolved = new Intl.NumberFormat(locale, { numberingSystem }).resolvedOptions();
    } catch {
      throw new ConfigError(`${field}.locale: "${locale}" is not a BCP 47 locale`);
    }
    // Intl quietly falls back to the locale's digits for a system it does not know: a typo
    // would otherwise go out as the wrong digits in every mail
    if (numberingSystem && resolved.numberingSystem !== numberingSystem)
      throw new ConfigError(
        `${field}.numberingSystem: "${numberingSystem}" is not a numbering system Intl knows (e.g. arab, latn)`,
      );
  }
  for (const tz of [
    pub.timezone,
    ...pub.feeds.map((f) => f.timezone),
    ...Object.values(pub.sources).map((s) => s?.timezone),
  ]) {
    if (tz && !isTimeZone(tz)) throw new ConfigError(`${label} field timezone: unknown time zone "${tz}"`);
  }
  return pub;
}

/** What the schema cannot say about the file's webhook endpoints, each error naming its entry. */
function checkWebhookEntries(entries: WebhookEndpointEntry[], label: string): void {
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    const field = `${label} field webhooks.${i} ("${e.id}")`;
    if (seen.has(e.id)) throw new ConfigError(`${field}.id: "${e.id}" is used by an earlier entry`);
    seen.add(e.id);
    const problem = endpointUrlProblem(e.url);
    if (problem) throw new ConfigError(`${field}.url: "${e.url}" ${problem}`);
    for (const event of e.events) {
      if (!(OUTBOX_EVENT_TYPES as readonly string[]).includes(event))
        throw new ConfigError(
          `${field}.events: unknown event "${event}" (known: ${OUTBOX_EVENT_TYPES.join(', ')})`,
        );
    }
    if (new Set(e.events).size !== e.events.length)
      throw new ConfigError(`${field}.events: an event is listed twice`);
    if (!e.secretEnv.startsWith(WEBHOOK_OUT_SECRET_PREFIX) || !/^[A-Z0-9_]+$/.test(e.secretEnv))
      throw new ConfigError(
        `${field}.secretEnv: "${e.secretEnv}" must name an environment variable ${WEBHOOK_OUT_SECRET_PREFIX}<NAME> (capitals, digits, _)`,
      );
  });
}

export function loadPublication(path: string): Publication {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `PUBLICATION_CONFIG: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`PUBLICATION_CONFIG: ${path} is not valid JSON (${(err as Error).message})`);
  }
  return parsePublication(json, `PUBLICATION_CONFIG ${path}`);
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
