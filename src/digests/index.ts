/**
 * The digest domain: planning, alerts, article lifecycle, operator actions, maintenance. Built
 * from plain dependencies; the HTTP routes and the workers each build one from the container.
 */
import { createAlertFanout } from './alerts.js';
import { createLifecycle } from './lifecycle.js';
import { createMaintenance } from './maintenance.js';
import { createOperator } from './operator.js';
import { createPlanner } from './planner.js';
import type { DigestDeps } from './types.js';

export function createDigests(deps: DigestDeps) {
  return {
    planner: createPlanner(deps),
    alerts: createAlertFanout(deps),
    lifecycle: createLifecycle(deps),
    operator: createOperator(deps),
    maintenance: createMaintenance(deps),
  };
}

export type Digests = ReturnType<typeof createDigests>;
export type { DigestDeps, Enqueuer, Lane } from './types.js';
