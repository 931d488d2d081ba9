/**
 * The view builders: one module per view, `createViewBuilder()` dispatching on the route. The
 * builder keeps memory between calls: the parsed log of recent runs (a live page's stream reads
 * only new lines) and the previous /metrics scrape of each endpoint (for request rates).
 */
import type { BuildView } from '../snapshot.js';
import { buildController } from './controller.js';
import { buildEndpoint } from './endpoint.js';
import { buildOverview } from './overview.js';
import { buildPlan } from './plan.js';
import { buildRegisteredModel } from './registered-model.js';
import { RunLogReader } from './run-log-reader.js';
import { buildSchedules } from './schedules.js';
import { ServingRates } from './serving-stats.js';
import { buildTrainingRun } from './training-run.js';

export { decodeCursor, encodeCursor } from './cursor.js';

export function createViewBuilder(): BuildView {
  const logs = new RunLogReader();
  const rates = new ServingRates();
  return async (route, snapshot, io) => {
    switch (route.view) {
      case 'overview':
        return { status: 200, doc: buildOverview(route, snapshot, io.now()) };
      case 'plan':
        return { status: 200, doc: buildPlan(snapshot) };
      case 'trainingrun':
        return buildTrainingRun(route, snapshot, io, logs);
      case 'registeredmodel':
        return buildRegisteredModel(route, snapshot, io);
      case 'deployedendpoint':
        return buildEndpoint(route, snapshot, io, rates);
      case 'schedules':
        return buildSchedules(route, snapshot, io);
      case 'controller':
        return { status: 200, doc: buildController(snapshot) };
    }
  };
}
