import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import { conflict, GazetteError, notFound, validationError } from '../errors.js';
import { normalizeEmail } from '../subscriptions/validate.js';
import {
  findOperatorById,
  findOperatorByKey,
  insertFirstOperator,
  insertOperator,
  listOperators,
  type OperatorRow,
  type Role,
  recordFailure,
  recordSignIn,
  recordSignOut,
  setPassword,
  unlockOperator,
} from './operator-store.js';
import { hashPassword, UNUSABLE_HASH, verifyPassword, weakPasswordReason } from './password.js';

export type { Role } from './operator-store.js';

/** An operator as the console and the API show one: never the hash. */
export interface OperatorView {
  id: string;
  email: string;
  role: Role;
  createdAt: string;
  createdBy: string;
  lastSignInAt: string | null;
  lockedUntil: string | null;
  /** console sessions issued before this are refused */
  signedOutAt: string | null;
}

export type SignInOutcome =
  | { result: 'signed-in'; operator: OperatorView }
  | { result: 'locked'; until: Date }
  | { result: 'invalid' };

export interface OperatorDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'SIGNIN_MAX_FAILURES' | 'SIGNIN_WINDOW_MINUTES' | 'SIGNIN_LOCK_MINUTES'>;
}

export const ROLES: Role[] = ['admin', 'editor'];

const view = (r: OperatorRow, now: Date): OperatorView => ({
  id: r.id,
  email: r.email,
  role: r.role,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  lastSignInAt: r.last_sign_in_at?.toISOString() ?? null,
  lockedUntil: r.locked_until && r.locked_until > now ? r.locked_until.toISOString() : null,
  signedOutAt: r.signed_out_at?.toISOString() ?? null,
});

function checkPassword(password: string): void {
  const weak = weakPasswordReason(password);
  if (weak) throw validationError('password', weak);
}

/** Operators of the console: who they are, their sign-in and its lock-out, and their creation. */
export function createOperators(deps: OperatorDeps) {
  const { db, clock, config } = deps;
  const minutes = (n: number) => n * 60_000;

  return {
    /**
     * Email and password. A wrong password counts toward the lock-out; while locked, even the
     * right password is refused (and not checked), and the answer says until when. An unknown
     * address costs a hash like a known one, so timing does not tell which addresses exist.
     */
    async signIn(email: string, password: string): Promise<SignInOutcome> {
      let key: string;
      try {
        key = normalizeEmail(email).key;
      } catch {
        await verifyPassword(password, UNUSABLE_HASH);
        return { result: 'invalid' };
      }
      const op = await findOperatorByKey(db, key);
      const now = clock.now();
      if (op?.locked_until && op.locked_until > now) return { result: 'locked', until: op.locked_until };
      const ok = await verifyPassword(password, op?.password_hash ?? UNUSABLE_HASH);
      if (!op) return { result: 'invalid' };
      if (!ok) {
        const after = await recordFailure(
          db,
          op.id,
          now,
          new Date(now.getTime() - minutes(config.SIGNIN_WINDOW_MINUTES)),
          config.SIGNIN_MAX_FAILURES,
          new Date(now.getTime() + minutes(config.SIGNIN_LOCK_MINUTES)),
        );
        if (after.locked_until && after.locked_until > now)
          return { result: 'locked', until: after.locked_until };
        return { result: 'invalid' };
      }
      await recordSignIn(db, op.id, now);
      return {
        result: 'signed-in',
        operator: view({ ...op, last_sign_in_at: now, locked_until: null }, now),
      };
    },

    /** The operator a session names, while it still exists. */
    async get(id: string): Promise<OperatorView | undefined> {
      const op = await findOperatorById(db, id);
      return op ? view(op, clock.now()) : undefined;
    },

    /** Ends every console session of the operator issued until now. */
    async signOut(id: string): Promise<void> {
      await recordSignOut(db, id, clock.now());
    },

    async list(): Promise<OperatorView[]> {
      const now = clock.now();
      return (await listOperators(db)).map((r) => view(r, now));
    },

    async create(input: {
      email: string;
      password: string;
      role: Role;
      createdBy: string;
    }): Promise<OperatorView> {
      const { email, key } = normalizeEmail(input.email);
      if (!ROLES.includes(input.role)) throw validationError('role', 'must be admin or editor');
      checkPassword(input.password);
      const row = await insertOperator(db, {
        email,
        emailKey: key,
        passwordHash: await hashPassword(input.password),
        role: input.role,
        createdBy: input.createdBy,
        at: clock.now(),
      });
      if (!row) throw conflict('an operator with this address exists');
      return view(row, clock.now());
    },

    /** A new password for an existing operator (npm run admin:create --reset); also lifts a lock-out. */
    async resetPassword(email: string, password: string): Promise<OperatorView> {
      checkPassword(password);
      const op = await findOperatorByKey(db, normalizeEmail(email).key);
      if (!op) throw notFound('operator');
      await setPassword(db, op.id, await hashPassword(password));
      return view((await findOperatorById(db, op.id))!, clock.now());
    },

    async unlock(id: string): Promise<OperatorView> {
      if (!(await unlockOperator(db, id))) throw notFound('operator');
      return view((await findOperatorById(db, id))!, clock.now());
    },

    /**
     * ADMIN_EMAIL / ADMIN_PASSWORD at boot: the first operator, an admin, only while there is
     * none. Later boots change nothing, whatever the variables say. Returns whether it was made.
     */
    async ensureFirst(email: string | undefined, password: string | undefined): Promise<boolean> {
      if (!email || !password) return false;
      const { rows } = await db.query('SELECT 1 FROM operators LIMIT 1');
      if (rows.length) return false;
      const weak = weakPasswordReason(password);
      if (weak) throw new GazetteError('GZ_CONFIG', `ADMIN_PASSWORD ${weak}`, 500, 'ADMIN_PASSWORD');
      const n = normalizeEmail(email, 'ADMIN_EMAIL');
      return insertFirstOperator(db, {
        email: n.email,
        emailKey: n.key,
        passwordHash: await hashPassword(password),
        role: 'admin',
        createdBy: 'ADMIN_EMAIL',
        at: clock.now(),
      });
    },
  };
}

export type Operators = ReturnType<typeof createOperators>;
