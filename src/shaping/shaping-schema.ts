import { type Static, Type } from '@sinclair/typebox';

/**
 * How Gazette shapes traffic per receiving provider (docs/delivery.md, "Providers"): the schema of
 * the publication file's `shaping` section and of the PROVIDER_LIMITS variable (the same limits
 * as JSON). Only TypeBox here, so config.ts and publication.ts can both use it.
 */
export const ProviderLimitsSchema = Type.Object(
  {
    /** messages per second to this provider from every worker process together; 0 = no limit */
    perSecond: Type.Optional(Type.Number({ minimum: 0 })),
    /** messages per clock hour; 0 = no limit */
    perHour: Type.Optional(Type.Integer({ minimum: 0 })),
    /** messages in flight to this provider at once (each on its own SMTP connection); 0 = no limit */
    maxConnections: Type.Optional(Type.Integer({ minimum: 0 })),
    /**
     * messages to this provider over one SMTP connection before Gazette closes it (QUIT) and opens
     * another (counted per connection of the digest and alert pool); 0 = no limit beyond
     * SMTP_MAX_MESSAGES_PER_CONNECTION
     */
    messagesPerConnection: Type.Optional(Type.Integer({ minimum: 0 })),
    /**
     * Warm-up: at most `start` messages on the first day, growing by `growth` a day up to `max`
     * (a new sending domain or IP); days count from `since` (YYYY-MM-DD, UTC).
     */
    warmup: Type.Optional(
      Type.Object(
        {
          since: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
          start: Type.Integer({ minimum: 1 }),
          growth: Type.Number({ minimum: 1, default: 1.5 }),
          max: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type ProviderLimits = Static<typeof ProviderLimitsSchema>;

/** A provider name: lower case, as used in metrics, Redis keys and the admin API. */
const ProviderName = Type.String({ pattern: '^[a-z0-9][a-z0-9.-]*$', maxLength: 253 });

export const MxRuleSchema = Type.Object(
  {
    /** an MX host name, or `*.` and a domain for every host under it */
    pattern: Type.String({ pattern: '^(\\*\\.)?[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$' }),
    provider: ProviderName,
  },
  { additionalProperties: false },
);

export type MxRule = Static<typeof MxRuleSchema>;

/** PROVIDER_LIMITS: `{"gmail": {"perSecond": 300}, "default": {...}}` */
export const ProviderLimitTableSchema = Type.Record(ProviderName, ProviderLimitsSchema);

export const ShapingSchema = Type.Object(
  {
    /** MX patterns tried before the published defaults (provider-rules.ts) */
    mx: Type.Array(MxRuleSchema, { default: [] }),
    /** reader domains mapped to a provider without asking DNS */
    domains: Type.Record(Type.String({ minLength: 1 }), ProviderName, { default: {} }),
    /** limits per provider, over the published defaults; `default` applies to every other provider */
    providers: Type.Record(ProviderName, ProviderLimitsSchema, { default: {} }),
  },
  { default: {}, additionalProperties: false },
);

export type Shaping = Static<typeof ShapingSchema>;
