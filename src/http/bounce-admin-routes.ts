import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { readerBounces } from '../bounces/bounce-store.js';
import type { Container } from '../container.js';
import { notFound } from '../errors.js';
import { SubscriberParams } from '../subscriptions/schemas.js';
import { findById } from '../subscriptions/subscriber-store.js';
import { adminSecurity } from './admin-auth.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

const ComplaintRate = Type.Object({
  windowHours: Type.Integer({ description: 'COMPLAINT_WINDOW_HOURS' }),
  from: Type.String({
    format: 'date-time',
    description:
      "complaints and sent mail count from here: the window's start, or the last resume after a complaint pause",
  }),
  complaints: Type.Integer({ description: 'readers who reported a message as spam since `from`' }),
  sent: Type.Integer({ description: 'messages sent since `from`' }),
  ratePercent: Nullable(
    Type.Number({ description: 'complaints per 100 messages sent; null when none was sent' }),
  ),
  alertPercent: Type.Number({ description: 'COMPLAINT_ALERT_PERCENT' }),
  pausePercent: Type.Number({ description: 'COMPLAINT_PAUSE_PERCENT' }),
  minSent: Type.Integer({ description: 'COMPLAINT_MIN_SENT: below it the rate is only reported' }),
  level: Type.Union(
    [Type.Literal('ok'), Type.Literal('too-few'), Type.Literal('alert'), Type.Literal('pause')],
    {
      description: 'too-few: complaints, but fewer than COMPLAINT_MIN_SENT messages to measure them against',
    },
  ),
  alertedAt: Nullable(Type.String({ format: 'date-time' })),
  pausedAt: Nullable(
    Type.String({
      format: 'date-time',
      description:
        'set while bulk sending stays paused by the complaint rate; POST /api/v1/sending/resume ends it',
    }),
  ),
  resumedAt: Nullable(Type.String({ format: 'date-time' })),
  resumedBy: Nullable(Type.String()),
});

const ReaderBounces = Type.Object({
  status: Type.String(),
  suppressedReason: Nullable(Type.String({ description: 'why the reader is suppressed, when they are' })),
  events: Type.Array(
    Type.Object({
      id: Type.Integer(),
      source: Type.String({ description: 'smtp, postmark, mailgun, sendgrid, standard, ses or inbound' }),
      class: Type.String({ description: 'hard, soft, block, complaint, auto-reply or unknown' }),
      rule: Nullable(Type.String({ description: 'the classification rule, or the relay type' })),
      status: Nullable(Type.String({ description: 'the enhanced status code, e.g. 5.1.1' })),
      diagnostic: Nullable(Type.String()),
      deliveryId: Nullable(Type.Integer()),
      editionId: Nullable(Type.String()),
      suppressed: Type.Boolean({ description: 'this report suppressed the reader' }),
      occurredAt: Type.String({ format: 'date-time' }),
      receivedAt: Type.String({ format: 'date-time' }),
    }),
    { description: 'newest first, at most 100' },
  ),
});

/** Operator views of bounces and complaints (the relay webhooks are public: bounce-routes.ts). */
export const bounceAdminRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  app.get(
    '/api/v1/complaint-rate',
    {
      schema: {
        tags: ['bounces'],
        summary: 'The spam-complaint rate the guard measures, its thresholds and what it did',
        description:
          'Over COMPLAINT_ALERT_PERCENT an alert is logged (alert=complaint_rate_high); over COMPLAINT_PAUSE_PERCENT bulk sending is paused until an operator resumes (POST /api/v1/sending/resume), which starts the measurement afresh.',
        security: adminSecurity,
        response: { 200: ComplaintRate },
      },
    },
    async () => container.complaintGuard.status(),
  );

  app.get<{ Params: Static<typeof SubscriberParams> }>(
    '/api/v1/subscribers/:id/bounces',
    {
      schema: {
        tags: ['bounces'],
        summary: "A reader's bounce and complaint reports: why they are suppressed",
        description:
          'Lift a suppression with POST /api/v1/subscribers/{id}/lift-suppression; one caused by a spam complaint needs {"override": true, "reason": "..."}.',
        security: adminSecurity,
        params: SubscriberParams,
        response: { 200: ReaderBounces },
      },
    },
    async (request) => {
      const sub = await findById(container.db, request.params.id);
      if (!sub) throw notFound('subscriber');
      return {
        status: sub.status,
        suppressedReason: sub.suppressed_reason,
        events: await readerBounces(container.db, sub.id, 100),
      };
    },
  );
};
