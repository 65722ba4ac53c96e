import type { KeyObject } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { BouncePolicy, BounceReport } from '../bounces/policy.js';
import {
  SignatureError,
  sendgridKey,
  verifyMailgun,
  verifyPostmark,
  verifySendgrid,
  verifyStandard,
} from '../bounces/relay-auth.js';
import {
  mailgunPayload,
  mailgunReports,
  PayloadError,
  parseJson,
  postmarkReports,
  sendgridReports,
  standardReports,
} from '../bounces/relay-events.js';
import { type SnsClient, sesReports, snsMessage, snsUrl, verifySnsSignature } from '../bounces/ses-sns.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { GazetteError } from '../errors.js';

export type BounceRelay = 'postmark' | 'mailgun' | 'sendgrid' | 'standard' | 'ses';

const Recorded = Type.Object(
  {
    status: Type.Union([Type.Literal('accepted'), Type.Literal('ignored'), Type.Literal('confirmed')], {
      description:
        'ignored: authentic, but no bounce or complaint in it (delivered, opened, a delay...); confirmed: an SNS subscription was confirmed',
    }),
    events: Type.Array(
      Type.Object({
        eventId: Type.String({ description: "The relay's event id: the de-duplication key" }),
        class: Type.String({ description: 'hard, soft, block, complaint, auto-reply or unknown' }),
        duplicate: Type.Boolean({ description: 'true when this event was received before (a redelivery)' }),
        suppressed: Type.Boolean({ description: 'this event suppressed the reader' }),
      }),
    ),
  },
  { description: 'Stored and applied before this answer' },
);
const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

const DESCRIPTIONS: Record<BounceRelay, string> = {
  postmark:
    'Postmark Bounce, SpamComplaint and (broadcast streams) SubscriptionChange webhooks. Authenticated by HTTP Basic auth: put BOUNCE_POSTMARK_CREDENTIALS (user:password) in the webhook URL, https://user:password@host/api/v1/bounces/postmark.',
  mailgun:
    'Mailgun webhooks (failed, complained), verified by signature.signature: hex HMAC-SHA256 of signature.timestamp + signature.token under the HTTP webhook signing key (BOUNCE_MAILGUN_SIGNING_KEY). Temporary failures are ignored (Mailgun is still retrying).',
  sendgrid:
    'SendGrid Event Webhook (bounce, dropped, spamreport), verified by the Signed Event Webhook: ECDSA P-256 signature (X-Twilio-Email-Event-Webhook-Signature) over X-Twilio-Email-Event-Webhook-Timestamp + the raw body, with the verification key in BOUNCE_SENDGRID_PUBLIC_KEY.',
  ses: 'Amazon SES bounce and complaint notifications through SNS (an HTTPS subscription of a topic listed in BOUNCE_SES_TOPIC_ARNS). Each SNS message is verified with its signing certificate (SignatureVersion 1 or 2, certificate on an SNS host of amazonaws.com); a SubscriptionConfirmation is confirmed by fetching its SubscribeURL.',
  standard:
    'Any relay that sends Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body> with the whsec_ secret in BOUNCE_WEBHOOK_SECRET). Body: {"type": "email.bounced" | "email.complained", "timestamp", "data": {"recipient", "messageId"?, "class"? (hard | soft | block), "status"?, "diagnostic"?}}.',
};

export interface BounceRoutesOptions {
  bounces: Pick<BouncePolicy, 'record'>;
  clock: Clock;
  /** fetches SNS signing certificates and confirms subscriptions (https, SNS hosts only) */
  sns: SnsClient;
  config: Pick<
    Config,
    | 'BOUNCE_POSTMARK_CREDENTIALS'
    | 'BOUNCE_MAILGUN_SIGNING_KEY'
    | 'BOUNCE_SENDGRID_PUBLIC_KEY'
    | 'BOUNCE_WEBHOOK_SECRET'
    | 'BOUNCE_SES_TOPIC_ARNS'
    | 'WEBHOOK_BODY_LIMIT_BYTES'
    | 'WEBHOOK_TOLERANCE_SECONDS'
  >;
}

type Reader = (
  request: FastifyRequest,
  body: Buffer,
) => BounceReport[] | Promise<BounceReport[] | 'confirmed'>;

/** Each relay's check and reading, or undefined when it is not configured (its endpoint is 404). */
function relayReaders(opts: BounceRoutesOptions): Record<BounceRelay, Reader | undefined> {
  const { config, clock } = opts;
  const tolerance = config.WEBHOOK_TOLERANCE_SECONDS;
  const postmark = config.BOUNCE_POSTMARK_CREDENTIALS;
  const mailgun = config.BOUNCE_MAILGUN_SIGNING_KEY;
  const standard = config.BOUNCE_WEBHOOK_SECRET;
  const topics = new Set(
    (config.BOUNCE_SES_TOPIC_ARNS ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  );
  // both were checked by loadConfig, which names the variable at boot
  const sendgrid: KeyObject | undefined = config.BOUNCE_SENDGRID_PUBLIC_KEY
    ? sendgridKey(config.BOUNCE_SENDGRID_PUBLIC_KEY)
    : undefined;
  return {
    postmark: postmark
      ? (request, body) => {
          verifyPostmark(postmark, request.headers);
          return postmarkReports(parseJson(body));
        }
      : undefined,
    mailgun: mailgun
      ? (_request, body) => {
          // the signature travels inside the body: read the envelope, check it, then the event
          const payload = mailgunPayload(parseJson(body));
          verifyMailgun(mailgun, payload.signature, clock.now(), tolerance);
          return mailgunReports(payload.eventData);
        }
      : undefined,
    sendgrid: sendgrid
      ? (request, body) => {
          verifySendgrid(sendgrid, request.headers, body, clock.now(), tolerance);
          return sendgridReports(parseJson(body));
        }
      : undefined,
    ses: topics.size
      ? async (_request, body) => {
          const m = snsMessage(parseJson(body));
          if (!topics.has(m.TopicArn))
            throw new SignatureError('TopicArn: not a topic in BOUNCE_SES_TOPIC_ARNS');
          const certUrl = snsUrl(m.SigningCertURL, 'SigningCertURL');
          verifySnsSignature(m, await opts.sns.certificate(certUrl.href));
          if (m.Type === 'SubscriptionConfirmation') {
            await opts.sns.confirm(snsUrl(m.SubscribeURL!, 'SubscribeURL').href);
            return 'confirmed';
          }
          return m.Type === 'Notification' ? sesReports(m.MessageId, m.Message) : [];
        }
      : undefined,
    standard: standard
      ? (request, body) => {
          const id = verifyStandard(standard, request.headers, body, clock.now(), tolerance);
          return standardReports(parseJson(body), id);
        }
      : undefined,
  };
}

/**
 * POST /api/v1/bounces/<relay>: verified on the raw bytes, each event stored once and applied
 * before the answer, so a relay's retry after a lost answer is a harmless duplicate. Public (the
 * relay cannot send the admin token): admin-auth.ts lists the prefix.
 */
export const bounceRoutes: FastifyPluginAsync<BounceRoutesOptions> = async (app, opts) => {
  const readers = relayReaders(opts);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: opts.config.WEBHOOK_BODY_LIMIT_BYTES },
    (request, body, done) => {
      request.rawBody = body as Buffer;
      done(null, body);
    },
  );

  for (const relay of Object.keys(readers) as BounceRelay[]) {
    app.post(
      `/api/v1/bounces/${relay}`,
      {
        schema: {
          tags: ['bounces'],
          summary: `${relay} bounce and complaint webhook`,
          description: DESCRIPTIONS[relay],
          response: { 200: Recorded, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody },
        },
      },
      async (request, reply) => {
        const read = readers[relay];
        if (!read) throw new GazetteError('GZ_NOT_FOUND', `bounce webhook ${relay} is not configured`, 404);
        let reports: BounceReport[] | 'confirmed';
        try {
          reports = await read(request, request.rawBody ?? Buffer.alloc(0));
        } catch (err) {
          if (err instanceof SignatureError) throw new GazetteError(err.code, err.message, 401);
          if (err instanceof PayloadError) throw new GazetteError(err.code, err.message, 400);
          throw err;
        }
        if (reports === 'confirmed') {
          request.logFields = { relay, sns: 'subscription confirmed' };
          return reply.send({ status: 'confirmed', events: [] });
        }
        const events = [];
        // the event as the relay sent it is the evidence (a batch's events share the body)
        const raw = request.rawBody ?? null;
        for (const r of reports) {
          const out = await opts.bounces.record({ ...r, raw: r.raw ?? raw });
          events.push({
            eventId: r.eventId,
            class: r.class,
            duplicate: out.duplicate,
            suppressed: out.suppressed,
          });
        }
        request.logFields = { relay, events };
        return reply.send({ status: events.length ? 'accepted' : 'ignored', events });
      },
    );
  }
};
