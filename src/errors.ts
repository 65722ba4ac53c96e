/**
 * Typed errors with stable codes, mapped to HTTP once in the app's error handler.
 * Domain code throws these; it never builds HTTP replies itself.
 */
export class GazetteError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode: number,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'GazetteError';
  }
}

export const validationError = (field: string, message: string) =>
  new GazetteError('GZ_VALIDATION', `${field}: ${message}`, 400, field);
export const notFound = (what: string) => new GazetteError('GZ_NOT_FOUND', `${what} not found`, 404);
export const unauthorized = (message = 'missing or invalid credentials') =>
  new GazetteError('GZ_UNAUTHORIZED', message, 401);
export const conflict = (message: string) => new GazetteError('GZ_CONFLICT', message, 409);
