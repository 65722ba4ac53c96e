import type { FastifyError, FastifyInstance } from 'fastify';
import { GazetteError } from '../errors.js';

interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

/** The one place errors become HTTP replies. Validation errors name the field that failed. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | GazetteError, request, reply) => {
    if (err instanceof GazetteError) {
      const body: ErrorBody = { error: err.code, message: err.message };
      if (err.field) body.field = err.field;
      return reply.status(err.statusCode).send(body);
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      const first = fe.validation[0];
      const path = first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') ?? '';
      const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
      const field = [path, missing].filter(Boolean).join('.') || fe.validationContext || 'body';
      return reply
        .status(400)
        .send({ error: 'GZ_VALIDATION', message: `${field}: ${first?.message ?? 'invalid'}`, field });
    }
    const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 600 ? fe.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.status(status).send({ error: 'GZ_INTERNAL', message: 'internal error' });
    }
    return reply.status(status).send({ error: fe.code ?? 'GZ_REQUEST', message: fe.message });
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send({ error: 'GZ_NOT_FOUND', message: `${request.method} ${request.url.split('?')[0]} not found` });
  });
}
