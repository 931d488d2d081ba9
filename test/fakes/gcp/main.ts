/**
 * Runs the fake GCP server standalone:
 *   npx tsx test/fakes/gcp/main.ts --port 0 --latency 50 [--fault-rate 0.1 --fault-kinds 429,503 --seed 1]
 * Prints `FAKE_GCP_URL=http://127.0.0.1:PORT` and serves until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startFakeGcp, type FaultKind } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    latency: { type: 'string', default: '0' },
    'fault-rate': { type: 'string', default: '0' },
    'fault-kinds': { type: 'string', default: '429,503' },
    seed: { type: 'string', default: '1' },
    'running-ms': { type: 'string' },
    'out-of-capacity': { type: 'string' },
    'no-check-bodies': { type: 'boolean', default: false },
  },
});

const kinds = (values['fault-kinds'] ?? '')
  .split(',')
  .filter((k): k is FaultKind => k === '429' || k === '503' || k === 'timeout');
const rate = Number(values['fault-rate']);
const fake = await startFakeGcp({
  port: Number(values.port),
  latencyMs: Number(values.latency),
  ...(rate > 0 ? { faults: { rate, kinds, seed: Number(values.seed) } } : {}),
  ...(values['running-ms'] ? { jobTiming: { runningMs: Number(values['running-ms']) } } : {}),
  ...(values['out-of-capacity'] ? { outOfCapacity: values['out-of-capacity'].split(',') } : {}),
  checkBodies: !values['no-check-bodies'],
});
console.log(`FAKE_GCP_URL=${fake.url}`);
const stop = (): void => {
  void fake.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
