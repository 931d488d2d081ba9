/**
 * A model server process for the serving benchmark: `serving-server.ts DIR MODE [ROOT]` with MODE
 * `batching`, `no-batching`, `fastify` (batching on, fastify front) or `monitoring:<sampleRate>`
 * (batching on, monitoring into the folder ROOT; bench/serving-monitoring.ts). Logs go to /dev/null
 * (written, as in production, but not read back). Prints its URL on stdout; drains on SIGTERM.
 */
import { createServingLogger, normalizeServingConfig, ModelServer } from '../serving/index.js';
import { listenWithFastify } from './serving-fastify.js';

const [dir, mode = 'batching', root] = process.argv.slice(2);
const sampleRate = mode.startsWith('monitoring:') ? Number(mode.slice('monitoring:'.length)) : undefined;
const { config, diagnostics } = normalizeServingConfig({
  name: 'mpg',
  versions: [{ version: 1, uri: dir }],
  batching: { enabled: mode !== 'no-batching' },
  ...(sampleRate !== undefined && { monitoring: { root, endpoint: 'mpg-api', sampleRate } }),
});
if (!config) throw new Error(JSON.stringify(diagnostics));
// The production log writer (buffered, flushed every 100 ms), aimed at /dev/null.
const logger = createServingLogger('info', '/dev/null');
const server = new ModelServer({ config, logger });
let url: string;
if (mode === 'fastify') {
  await server.load();
  url = await listenWithFastify(server);
} else {
  url = await server.listen(0, '127.0.0.1');
  await server.load();
}
console.log(JSON.stringify({ url }));
process.once('SIGTERM', () => {
  void server.shutdown('SIGTERM').then(() => process.exit(0));
});
