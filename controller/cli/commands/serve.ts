import { error, type Diagnostic } from '../../../resources/diagnostic.js';
import type * as ServingModule from '../../../serving/index.js';
import type { RawServingConfig, ServingConfig } from '../../../serving/index.js';
import { diagnosticsSummaryLine, renderDiagnostics } from '../../ui/diagnostics-view.js';
import { errorMessage } from '../../../resources/error-message.js';
import { defineCommand } from '../command.js';
import { LAUNCH_ID_OPTION } from '../options.js';
import type { CommandContext } from '../context.js';

interface ServeOptions {
  model?: string;
  config?: string;
  name?: string;
  modelVersion?: string;
  port?: string;
  host: string;
  batching: boolean;
  maxBatchSize?: string;
  batchTimeoutMicros?: string;
  maxBodyBytes?: string;
  maxInstances?: string;
  missingFeatures?: 'explicit' | 'fill' | 'error';
  headersTimeout?: string;
  receiveTimeout?: string;
  keepAliveTimeout?: string;
  maxConnections?: string;
  logLevel?: string;
  listenFd?: string;
}

/** TensorFlow Serving's REST port, when neither --port nor $PORT says otherwise. */
const DEFAULT_PORT = 8501;

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'serve trainer artifacts over the TensorFlow Serving REST API',
  description:
    'Load one or more versions of a trainer artifact (a directory or gs:// prefix holding model.json,\n' +
    'weights.bin and preprocess.json) and serve them: POST /v1/models/{name}:predict with raw\n' +
    'features in, decoded predictions out; GET /v1/models/{name}[/metadata]; /v2/health/live,\n' +
    '/v2/health/ready; /metrics. Concurrent requests are batched. Logs are JSON lines on stdout.\n' +
    'Runs until SIGTERM or SIGINT, then stops accepting, answers what is in flight and exits 0.',
  options: [
    { flags: '-m, --model <uri>', description: 'artifact directory or gs:// prefix (default: $MODEL_URI)' },
    {
      flags: '-c, --config <file>',
      description: 'JSON config with several versions and traffic percents (serving/README.md)',
    },
    {
      flags: '-n, --name <name>',
      description: 'model name in the URLs (default: $MODEL_NAME, the run\'s model, or "default")',
    },
    {
      flags: '--model-version <n>',
      description: 'version number of --model (default: from the directory name, else 1)',
    },
    {
      flags: '-p, --port <port>',
      description: `port (default: $PORT, else ${DEFAULT_PORT}; 0 picks a free one)`,
    },
    {
      flags: '--host <host>',
      description: 'interface to listen on (containers: 0.0.0.0)',
      default: '127.0.0.1',
    },
    { flags: '--no-batching', description: 'one model call per request' },
    { flags: '--max-batch-size <n>', description: 'most instances per model call (default 64)' },
    {
      flags: '--batch-timeout-micros <n>',
      description: 'longest a request waits for a batch to fill (default 0: same event-loop turn)',
    },
    { flags: '--max-body-bytes <n>', description: 'larger bodies get 413 (default 10 MiB)' },
    { flags: '--max-instances <n>', description: 'more instances per request get 413 (default 1000)' },
    LAUNCH_ID_OPTION,
    {
      flags: '--listen-fd <n>',
      description:
        'serve on the listening TCP socket inherited as this file descriptor (set by the local provider, which binds the port itself); --port and --host are then ignored',
    },
    {
      flags: '--missing-features <policy>',
      description:
        'explicit (default): a left-out feature is a 400, null takes the training fill value; fill: both are filled; error: both are a 400',
      choices: ['explicit', 'fill', 'error'],
    },
    {
      flags: '--headers-timeout <seconds>',
      description: 'request line and headers must arrive within this (default 10)',
    },
    {
      flags: '--receive-timeout <seconds>',
      description:
        'the whole request, headers and body, must arrive within this (default 60, at most limits.requestTimeoutSeconds)',
    },
    {
      flags: '--keep-alive-timeout <seconds>',
      description: 'idle keep-alive connections are closed after this (default 5)',
    },
    { flags: '--max-connections <n>', description: 'connections beyond this many are closed (default 1024)' },
    {
      flags: '--log-level <level>',
      description: 'log level',
      choices: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'],
    },
  ],
  notes:
    'Environment: PORT, MODEL_URI, MODEL_NAME (Cloud Run), MLFORM_BACKEND=tensorflow|wasm|cpu,\n' +
    'MLFORM_SERVE_PROOF_KEY (set by the local provider: health answers then prove this process\n' +
    'to it; read once and removed from the environment), MLFORM_SERVE_MONITORING (JSON: the\n' +
    'config\'s "monitoring" object; set by the gcp provider for spec.monitoring).\n' +
    'Exit status: 0 after a graceful shutdown, 1 when the config or a model cannot be loaded.',
  examples: [
    'mlform serve --model /tmp/mpg --name mpg --port 8501',
    'curl -s localhost:8501/v1/models/mpg:predict -H content-type:application/json \\',
    '  -d \'{"instances": [{"Cylinders": 4, "Displacement": 97, "Horsepower": 95, "Weight_in_lbs": 2372,',
    '    "Acceleration": 15, "Year": "1980-01-01", "Origin": "Japan"}]}\'',
    '# every feature must be present; null means "missing, fill as training did"',
    'mlform serve --config endpoint.json --port 0',
  ],
  async handler(_args: [], options: ServeOptions, ctx) {
    const serving = await import('../../../serving/index.js');
    const settings = await serveSettings(options, ctx, serving);
    if ('problem' in settings) {
      ctx.printErr(settings.problem);
      return 1;
    }
    return serveUntilStopped(ctx, serving, settings, options.host);
  },
});

interface ServeSettings {
  config: ServingConfig;
  port: number;
  listenFd?: number;
  proofKey?: string;
  /** Processes behind upstream versions, from the launcher (serving/upstream-launch.ts). */
  upstreamLaunches: ServingModule.UpstreamLaunch[];
}

/** Flags, config file and environment checked; the problem is the text to print when they do not fit. */
async function serveSettings(
  options: ServeOptions,
  ctx: CommandContext,
  serving: Serving,
): Promise<ServeSettings | { problem: string }> {
  const resolved = await resolveConfig(options, ctx, serving);
  if (!resolved.config) {
    return {
      problem: `${renderDiagnostics(resolved.diagnostics, ctx.errStyle)}\n${diagnosticsSummaryLine(resolved.diagnostics, ctx.errStyle)}`,
    };
  }
  const port = parsePort(options.port ?? nonEmpty(ctx.env.PORT));
  if (port === undefined) {
    return {
      problem: `--port / $PORT must be a port number from 0 to 65535, got ${JSON.stringify(options.port ?? ctx.env.PORT)}`,
    };
  }
  const listenFd = options.listenFd === undefined ? undefined : parseFd(options.listenFd);
  if (listenFd === null) {
    return {
      problem: `--listen-fd must be a file descriptor number from 3, got ${JSON.stringify(options.listenFd)}`,
    };
  }
  // Read once, then gone from the environment: nothing this process starts or logs sees it.
  const proofKey = nonEmpty(ctx.env[serving.PROOF_KEY_ENV]);
  delete ctx.env[serving.PROOF_KEY_ENV];
  delete process.env[serving.PROOF_KEY_ENV];
  if (proofKey !== undefined && !serving.isProofToken(proofKey)) {
    return { problem: `$${serving.PROOF_KEY_ENV} must be 32 to 128 lower-case hex digits` };
  }
  let upstreamLaunches: ServeSettings['upstreamLaunches'];
  try {
    upstreamLaunches = serving.takeUpstreamLaunches(ctx.env);
  } catch (e) {
    return { problem: errorMessage(e) };
  }
  return {
    config: resolved.config,
    port,
    upstreamLaunches,
    ...(listenFd !== undefined && { listenFd }),
    ...(proofKey !== undefined && { proofKey }),
  };
}

/** Listens, loads the models and serves until SIGTERM or SIGINT has drained the server. */
async function serveUntilStopped(
  ctx: CommandContext,
  serving: Serving,
  { config, port, listenFd, proofKey, upstreamLaunches }: ServeSettings,
  host: string,
): Promise<number> {
  const logs = serving.createServingLogger(
    config.logging.level,
    ctx.stdout === process.stdout ? 1 : { write: (line: string) => ctx.stdout.write(line) },
    { model: config.name },
  );
  const { logger } = logs;
  const server = new serving.ModelServer({
    config,
    logger: logs,
    ...(proofKey !== undefined && { proofKey }),
    upstreamLaunches,
  });
  // Once: a second Ctrl-C gets Node's default action and ends the process at once.
  const stopListening = ctx.onStopSignal((signal) => {
    server.shutdown(signal).catch((e: unknown) => {
      logger.error({ err: errorMessage(e) }, 'shutdown failed');
    });
  });
  try {
    await server.listen(port, host, listenFd);
  } catch (e) {
    const where = listenFd === undefined ? `${host}:${port}` : `inherited descriptor ${listenFd}`;
    ctx.printErr(`cannot listen on ${where}: ${errorMessage(e)}`);
    await server.shutdown('listen failed');
    stopListening();
    logs.close();
    return 1;
  }
  let failed = false;
  try {
    await server.load();
  } catch (e) {
    failed = true;
    logger.fatal({ err: errorMessage(e) }, 'cannot serve');
    await server.shutdown('load failed');
  }
  await server.closed;
  stopListening();
  logs.close();
  return failed ? 1 : 0;
}

/** An environment variable set to '' counts as unset (a template that left it blank). */
const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' ? undefined : value;

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return DEFAULT_PORT;
  if (!/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port <= 65535 ? port : undefined;
}

/** A descriptor beyond stdin, stdout and stderr; null when it is not one. */
function parseFd(value: string): number | null {
  if (!/^\d{1,4}$/.test(value)) return null;
  const fd = Number(value);
  return fd >= 3 ? fd : null;
}

/** `--max-batch-size 64` -> 64; anything else stays a string for the config validation to reject. */
function numberFlag(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

type Serving = typeof ServingModule;

/** Flags over `--config FILE`, or a one-version config from `--model` / $MODEL_URI. */
async function resolveConfig(
  options: ServeOptions,
  ctx: CommandContext,
  serving: Serving,
): Promise<{ config?: ServingConfig; diagnostics: Diagnostic[] }> {
  const overrides = {
    name: options.name ?? nonEmpty(ctx.env.MODEL_NAME),
    batching: {
      ...(options.batching === false && { enabled: false }),
      maxBatchSize: numberFlag(options.maxBatchSize),
      batchTimeoutMicros: numberFlag(options.batchTimeoutMicros),
    },
    limits: {
      maxBodyBytes: numberFlag(options.maxBodyBytes),
      maxInstances: numberFlag(options.maxInstances),
      missingFeatures: options.missingFeatures,
      headersTimeoutSeconds: numberFlag(options.headersTimeout),
      receiveTimeoutSeconds: numberFlag(options.receiveTimeout),
      keepAliveTimeoutSeconds: numberFlag(options.keepAliveTimeout),
      maxConnections: numberFlag(options.maxConnections),
    },
    logging: { level: options.logLevel },
  } as RawServingConfig;
  const monitoringText = nonEmpty(ctx.env[serving.MONITORING_ENV]);
  if (monitoringText !== undefined) {
    try {
      overrides.monitoring = JSON.parse(monitoringText) as RawServingConfig['monitoring'];
    } catch (e) {
      return {
        diagnostics: [
          error('serve-env', `$${serving.MONITORING_ENV} is not JSON: ${errorMessage(e)}`, {
            hint: 'it holds the config\'s "monitoring" object (serving/README.md "Monitoring")',
          }),
        ],
      };
    }
  }

  const uri = options.model ?? (options.config ? undefined : nonEmpty(ctx.env.MODEL_URI));
  if (options.config && options.model) {
    return {
      diagnostics: [
        error('serve-args', 'give --model or --config, not both', {
          hint: 'list several versions in the config file instead',
        }),
      ],
    };
  }
  if (options.config) {
    if (options.modelVersion !== undefined) {
      return {
        diagnostics: [
          error('serve-args', '--model-version goes with --model; a config file numbers its versions'),
        ],
      };
    }
    return serving.readServingConfig(options.config, overrides);
  }
  if (!uri) {
    return {
      diagnostics: [
        error('serve-args', 'nothing to serve: give --model DIR|gs://..., --config FILE, or set MODEL_URI', {
          hint: 'mlform serve --model /path/to/artifact',
        }),
      ],
    };
  }
  const version =
    options.modelVersion === undefined ? serving.versionFromUri(uri) : numberFlag(options.modelVersion);
  const name = overrides.name ?? (await modelNameOf(uri));
  return serving.normalizeServingConfig(
    serving.mergeRawConfig({ versions: [{ version, uri }] }, { ...overrides, name }),
    process.cwd(),
  );
}

/** `spec.model` from the artifact's run.json: the registered model this run feeds. */
async function modelNameOf(uri: string): Promise<string | undefined> {
  try {
    const { readJsonFile, ARTIFACT_FILES } = await import('../../../artifact/files.js');
    const run = await readJsonFile(uri, ARTIFACT_FILES.run);
    if (typeof run === 'object' && run !== null && 'spec' in run) {
      const spec = run.spec;
      if (typeof spec === 'object' && spec !== null && 'model' in spec && typeof spec.model === 'string') {
        return /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(spec.model) ? spec.model : undefined;
      }
    }
  } catch {
    // no run.json (a hand-made artifact): the default name applies
  }
  return undefined;
}
