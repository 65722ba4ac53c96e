/**
 * Operator actions, as the HTTP routes (src/http/digest-routes.ts) and the digests worker use
 * them: runs (send now, dry run, fan-out), test copies, edition controls and views. Plain
 * functions over the database, one file per concern.
 */
import { createEditionControls } from './edition-controls.js';
import { createEditionList } from './edition-list.js';
import { createEditionViews } from './edition-views.js';
import { createOperatorRuns } from './operator-runs.js';
import { createTestSend } from './test-send.js';
import type { DigestDeps } from './types.js';

export function createOperator(deps: DigestDeps) {
  const views = createEditionViews(deps);
  return {
    ...createOperatorRuns(deps),
    testSend: createTestSend(deps),
    ...createEditionControls(deps, views),
    ...views,
    list: createEditionList(deps),
  };
}

export type Operator = ReturnType<typeof createOperator>;
