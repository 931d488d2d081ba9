/**
 * `mlform ui`: the web dashboard without a controller, for people who run `apply` by hand. The
 * same server as the controller's (status-server.ts with the dashboard), fed by a source that
 * observes on demand (controller/web/ui-source.ts). It only reads: no lock, no apply, no webhook.
 */
import { spawn } from 'node:child_process';
import { error, type Diagnostic } from '../../../resources/diagnostic.js';
import { loadAuthToken, MIN_TOKEN_LENGTH } from '../../loop/auth-token.js';
import { parseDuration } from '../../loop/duration-option.js';
import { createControllerMetrics } from '../../loop/metrics.js';
import { startStatusServer } from '../../loop/status-server.js';
import { STATUS_API_VERSION, type ControllerStatus } from '../../loop/status-schema.js';
import { DEFAULT_REFRESH_MS, UiSource } from '../../web/ui-source.js';
import { createViewBuilder } from '../../web/views/index.js';
import { defineCommand } from '../command.js';
import type { CommandContext } from '../context.js';
import { OPERATOR_OPTIONS, operatorSettings, type OperatorFlags } from '../operator.js';
import { fileOption } from '../options.js';
import { failed } from '../problems.js';
import { openForReading } from '../stack-reading.js';
import { packageVersion } from '../version.js';

export const UI_DEFAULT_LISTEN = '127.0.0.1:8470';

interface UiOptions extends OperatorFlags {
  file: string[];
  listen: string;
  refresh: string;
  authTokenFile?: string;
  open?: boolean;
}

export const uiCommand = defineCommand({
  name: 'ui',
  summary: 'serve the web dashboard of a stack (read-only)',
  description: [
    'Serve the dashboard in a browser: every resource with its sync and health,',
    'the pending plan, training curves and logs, model versions, endpoints and',
    'schedules, updated live. The manifests are read again and the actual state',
    'observed (read-only, as `mlform get` does) when a page asks and the last',
    'observation is older than --refresh, and every --refresh while a page is',
    'open; nothing is applied. A manifest that stops loading keeps the last good',
    'one on screen, with its errors. The controller serves the same dashboard.',
    '',
    'The API (/api/v1/...) needs `Authorization: Bearer <token>` when',
    '--auth-token-file is given, and an address beyond loopback requires it; the',
    'page then asks for the token. The token file: one line of at least',
    `${MIN_TOKEN_LENGTH} printable characters, not readable by other users.`,
  ].join('\n'),
  options: [
    fileOption(),
    {
      flags: '--listen <addr>',
      description: 'HTTP address (port 0 picks a free one; beyond loopback: needs --auth-token-file)',
      default: UI_DEFAULT_LISTEN,
    },
    {
      flags: '--refresh <duration>',
      description: 'observe again when the last observation is older than this',
      default: `${DEFAULT_REFRESH_MS / 1000}s`,
    },
    {
      flags: '--auth-token-file <file>',
      description: 'bearer token required on every /api/ route',
    },
    { flags: '--open', description: 'open the dashboard in the default browser' },
    ...OPERATOR_OPTIONS,
  ],
  examples: [
    'mlform ui -f examples/quickstart',
    'mlform ui --listen 127.0.0.1:0 --refresh 5s',
    '# reachable from other hosts: a token guards the API',
    'openssl rand -hex 32 > token && chmod 600 token',
    'mlform ui --listen 0.0.0.0:8470 --auth-token-file token',
  ],
  exitStatus:
    '0 after Ctrl-C or SIGTERM; 1 when the manifests do not load,\n' +
    'the options are invalid, the address cannot be bound, or it is\n' +
    'beyond loopback without --auth-token-file.',
  handler: (_args: [], options: UiOptions, ctx) => runUi(options, ctx),
});

async function runUi(options: UiOptions, ctx: CommandContext): Promise<number> {
  const problems: Diagnostic[] = [];
  const refreshMs = parseDuration(options.refresh);
  if (refreshMs === undefined || refreshMs < 100) {
    problems.push(
      error('bad-duration', `--refresh "${options.refresh}" is not a duration of at least 100ms`, {
        hint: 'e.g. 2s, 10s, 1m',
      }),
    );
  }
  const auth = options.authTokenFile ? await loadAuthToken(options.authTokenFile) : { diagnostics: [] };
  problems.push(...auth.diagnostics);
  if (problems.length > 0) return failed(ctx, problems);

  const operator = operatorSettings(options, ctx.env);
  const opened = await openForReading(options.file, operator);
  if (!opened.project) return failed(ctx, opened.diagnostics);
  const source = new UiSource({
    files: options.file,
    operator,
    project: opened.project,
    ...(refreshMs !== undefined && { refreshMs }),
  });
  const uiStatus = (): ControllerStatus => ({
    formatVersion: STATUS_API_VERSION,
    controller: {
      version: packageVersion(),
      identity: 'mlform ui',
      leader: false,
      ready: source.current() !== undefined,
      stack: source.ctx.stack,
      source: `ui ${options.file.join(', ') || '.'}`,
      commit: null,
      appliedCommit: null,
      lastSync: null,
      lastError: null,
      badCommit: null,
    },
    resources: source.current()?.statuses ?? [],
  });
  const metrics = createControllerMetrics();
  const started = await startStatusServer({
    listen: options.listen,
    authToken: auth.token,
    registry: metrics.registry,
    // `/api/status` as `mlform get --server` reads it, from the same snapshots: a viewer too.
    status: () => {
      source.touch();
      return uiStatus();
    },
    isReady: () => source.current() !== undefined,
    isLeader: () => false,
    onWebhook: () => 'standby',
    dashboard: { source, build: createViewBuilder() },
  });
  const server = started.server;
  if (!server) {
    source.close();
    return failed(ctx, started.diagnostics);
  }
  let stopListening = (): void => {};
  const stopped = new Promise<void>((resolve) => {
    stopListening = ctx.onStopSignal(() => resolve());
  });
  // The first observation starts now; pages asked meanwhile get 503 "no snapshot yet".
  source.touch();
  const url = `${server.url}/`;
  ctx.print(`dashboard: ${url} (Ctrl-C to stop)`);
  if (options.open) openBrowser(url, ctx);
  await stopped;
  stopListening();
  source.close();
  await server.close();
  return 0;
}

/** The platform's opener; a failure only says so (the URL is printed anyway). */
function openBrowser(url: string, ctx: CommandContext): void {
  const command =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => ctx.printErr(`cannot open a browser (${command}); open ${url} yourself`));
  child.unref();
}
