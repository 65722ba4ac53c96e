export { createRepermission, type Repermission, type RepermissionRun } from './repermission.js';
export { pausedCount, type RepermissionCounts } from './repermission-store.js';
