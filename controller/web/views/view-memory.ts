/** What the view builder remembers between documents (index.ts), handed to the views that use it. */
import type { EndpointDoc } from '../api.js';
import { Memo } from './memo.js';
import { RunLogReader } from './run-log-reader.js';
import { ServingRates } from './serving-stats.js';
import type { FinishedRunFiles } from './training-run.js';

export interface ViewMemory {
  /** Parsed logs of recent runs, continued where they stopped. */
  logs: RunLogReader;
  /** The previous /metrics scrape of each endpoint. */
  rates: ServingRates;
  /** Health, history and tuning.json of succeeded runs. */
  runFiles: Memo<FinishedRunFiles>;
  /** Sample requests of registered versions. */
  samples: Memo<EndpointDoc['sample']>;
}

export const createViewMemory = (): ViewMemory => ({
  logs: new RunLogReader(),
  rates: new ServingRates(),
  runFiles: new Memo(64),
  samples: new Memo(64),
});
