/**
 * The view builders: one module per view, `createViewBuilder()` dispatching on the route. The
 * builder keeps memory between calls (view-memory.ts): the parsed log of recent runs (a live
 * page's stream reads only new lines), the previous /metrics scrape of each endpoint (for request
 * rates), and what finished artifacts hold.
 */
import type { BuildView } from '../snapshot.js';
import { buildController } from './controller.js';
import { buildEndpoint } from './endpoint.js';
import { buildOverview } from './overview.js';
import { buildPlan } from './plan.js';
import { buildRegisteredModel } from './registered-model.js';
import { buildSchedules } from './schedules.js';
import { buildTrainingRun } from './training-run.js';
import { createViewMemory } from './view-memory.js';

export { decodeCursor, encodeCursor } from '../cursor.js';

export function createViewBuilder(): BuildView {
  const memory = createViewMemory();
  return async (route, snapshot, io) => {
    switch (route.view) {
      case 'overview':
        return { status: 200, doc: buildOverview(route, snapshot, io.now()) };
      case 'plan':
        return { status: 200, doc: buildPlan(snapshot) };
      case 'trainingrun':
        return buildTrainingRun(route, snapshot, io, memory);
      case 'registeredmodel':
        return buildRegisteredModel(route, snapshot, io);
      case 'deployedendpoint':
        return buildEndpoint(route, snapshot, io, memory);
      case 'schedules':
        return buildSchedules(route, snapshot, io);
      case 'controller':
        return { status: 200, doc: buildController(snapshot) };
    }
  };
}
