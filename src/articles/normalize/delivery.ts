import type { Publication } from '../../publication.js';
import type { ArticleEvent } from '../types.js';
import { normalizeGeneric } from './generic.js';
import { normalizeGhost } from './ghost.js';
import { normalizeStrapi } from './strapi.js';
import { normalizeWordPress, type WpTrigger } from './wordpress.js';

export type WebhookProvider = 'generic' | 'wordpress' | 'ghost' | 'strapi';

/** What normalizing a delivery needs besides its body (query and headers, when it arrived). */
export interface DeliveryContext {
  deliveryId?: string;
  /** Ghost's ?event= */
  event?: string;
  /** WP Webhooks' ?trigger= or X-WP-Webhook-Trigger */
  trigger?: string;
  receivedAt: string;
}

/**
 * One webhook delivery's events, with the publication as given. Pure and synchronous, so the
 * ingest service runs it inline for small bodies and in the normalize pool's thread for large ones.
 */
export function normalizeDelivery(
  publication: Publication,
  provider: WebhookProvider,
  body: unknown,
  c: DeliveryContext,
): ArticleEvent[] {
  switch (provider) {
    case 'generic':
      return normalizeGeneric(body, publication, { deliveryId: c.deliveryId });
    case 'wordpress':
      return normalizeWordPress(body, publication, {
        trigger: c.trigger as WpTrigger | undefined,
        receivedAt: new Date(c.receivedAt),
      });
    case 'ghost':
      return normalizeGhost(body, publication, { event: c.event });
    case 'strapi': {
      const strapi = publication.sources.strapi;
      return normalizeStrapi(body, publication, {
        models: strapi?.models,
        ignoredModels: strapi?.ignoredModels,
        urlTemplate: strapi?.urlTemplate,
      });
    }
  }
}
