import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { unauthorized } from '../errors.js';

/** preHandler for operator endpoints: Authorization: Bearer $ADMIN_TOKEN, compared in constant time. */
export function requireAdmin(adminToken: string) {
  const expected = Buffer.from(adminToken);
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    const given = Buffer.from(match?.[1]?.trim() ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw unauthorized('admin endpoints need Authorization: Bearer <ADMIN_TOKEN>');
    }
  };
}

export const adminSecurity = [{ adminToken: [] as string[] }];
