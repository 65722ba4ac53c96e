import type { TestContext } from './context.js';

/** A reader's status and what the bounce policy left as evidence. */
export async function readerState(ctx: TestContext, email: string) {
  const { rows } = await ctx.db.query<{ id: string; status: string; suppressed_reason: string | null }>(
    'SELECT id, status, suppressed_reason FROM subscribers WHERE email_key = lower($1)',
    [email],
  );
  const sub = rows[0]!;
  const consent = await ctx.db.query<{ event: string; source: string; details: Record<string, unknown> }>(
    `SELECT event, source, details FROM consent_events WHERE subscriber_id = $1 AND event = 'suppressed' ORDER BY id`,
    [sub.id],
  );
  const events = await ctx.db.query<{
    source: string;
    event_id: string;
    class: string;
    delivery_id: string | null;
    edition_id: string | null;
    suppressed: boolean;
    diagnostic: string | null;
  }>(
    `SELECT source, event_id, class, delivery_id, edition_id, suppressed, diagnostic
       FROM bounce_events WHERE subscriber_id = $1 ORDER BY id`,
    [sub.id],
  );
  return { ...sub, suppressions: consent.rows, events: events.rows };
}

export async function bounceMetric(ctx: TestContext): Promise<string> {
  return ctx.container.metrics.registry.getSingleMetricAsString('gazette_bounces_total');
}
