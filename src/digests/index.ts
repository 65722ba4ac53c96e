/**
 * The digest domain: planning, alerts, article lifecycle, operator actions, maintenance. Built
 * from plain dependencies; src/container.ts builds the one the HTTP routes and the workers share.
 */
import { createAlertFanout } from './alerts.js';
import { createLifecycle } from './lifecycle.js';
import { createMaintenance } from './maintenance.js';
import { createOperator } from './operator.js';
import { createPlanner } from './planner.js';
import type { DigestDeps } from './types.js';
import { createWebCopies } from './web-copy.js';

export function createDigests(deps: DigestDeps) {
  return {
    planner: createPlanner(deps),
    alerts: createAlertFanout(deps),
    lifecycle: createLifecycle(deps),
    operator: createOperator(deps),
    maintenance: createMaintenance(deps),
    webCopies: createWebCopies(deps),
  };
}

export type Digests = ReturnType<typeof createDigests>;
export type { DigestDeps, Enqueuer, Lane } from './types.js';
