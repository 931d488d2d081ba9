/**
 * DeployedEndpoints: one detached `mlform serve --config` process per endpoint, in
 * `endpoints/<name>/` (endpoint.json, the serving config.json it runs, serve.log). The process
 * outlives the CLI; a dead or silent one is drift (`healthy: false`) that the next put restarts.
 * config.json is what is deployed: live traffic and settings are read back from it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile, rename, stat } from 'node:fs/promises';
import type { Server } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import pLimit from 'p-limit';
import { Value } from '@sinclair/typebox/value';
import { deployedEndpointAddress } from '../../resources/address.js';
import { errorMessage } from '../../resources/error-message.js';
import { error, warning, type Diagnostic } from '../../resources/diagnostic.js';
import { toJsonText } from '../../artifact/files.js';
import { CONTRACT_FILES } from '../../artifact/contract.js';
import { isGcsUri, toLocalPath } from '../../artifact/storage.js';
import {
  ownershipLabels,
  type ObservedEndpoint,
  type ProviderContext,
  type PutEndpointRequest,
  type Response,
} from '../provider.js';
import {
  CHALLENGE_HEADER,
  isProofToken,
  newChallenge,
  newProofKey,
  PROOF_HEADER,
  PROOF_KEY_ENV,
  verifyProof,
} from '../../serving/launch-proof.js';
import { servedFiles } from '../../serving/artifact-descriptor.js';
import { serverMonitoring } from '../serving-monitoring.js';
import { UPSTREAMS_ENV, type UpstreamLaunch } from '../../serving/upstream-launch.js';
import { upstreamLaunches, upstreamVersions } from './endpoint-upstreams.js';
import { serveArgs, SERVE_ENV_OVERRIDES } from './mlform-cli.js';
import { claimPort, close, HOST } from './ports.js';
import {
  findLaunched,
  identify,
  launchStamp,
  spawnDetached,
  stopProcess,
  type DetachedProcess,
  type TrackedProcess,
} from './processes.js';
import {
  EndpointConfigSchema,
  EndpointRecordSchema,
  type EndpointConfig,
  type EndpointRecord,
} from './records.js';
import { observeLocalMonitoring } from './monitoring.js';
import { readLogTail } from './run-log.js';
import { childEnv, stateRoot, type LocalSettings } from './settings.js';
import {
  checkName,
  exists,
  FILES,
  foreign,
  listDir,
  readRecord,
  readRecords,
  removeDir,
  stateError,
  statePaths,
  writeJsonAtomic,
  writeTextAtomic,
  type StatePaths,
} from './state-dir.js';

/** serve.log is appended across restarts; past this size the old one is set aside. */
const LOG_ROTATE_BYTES = 10 * 1024 * 1024;
/** Health requests on list run at once, up to this many (sockets are cheap, descriptors are not). */
const HEALTH_PARALLELISM = 256;
/** The serving process's launch key, beside its record. */
const SERVE_KEY_FILE = 'serve.key';

function endpointFiles(paths: StatePaths, name: string) {
  const dir = paths.endpoint(name);
  return {
    dir,
    record: join(dir, FILES.endpoint),
    // Also the marker: `--config <this path>` identifies the endpoint's process.
    config: join(dir, FILES.servingConfig),
    log: join(dir, FILES.serveLog),
    // The launch key of the running server (0600): health answers must prove it (launch-proof.ts).
    key: join(dir, SERVE_KEY_FILE),
  };
}
type EndpointFiles = ReturnType<typeof endpointFiles>;

const tracked = (record: EndpointRecord, files: EndpointFiles): TrackedProcess => ({
  pid: record.pid,
  marker: files.config,
  ...(record.launch && { launch: record.launch }),
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The serving config for a request's resolved traffic. Two selectors that resolve to the same
 * version (`champion` and `latest` both v3) become one entry with their shares added: the server
 * loads each version once.
 */
export function servingConfig(req: PutEndpointRequest, monitoringRoot?: string): EndpointConfig {
  const versions: EndpointConfig['versions'] = [];
  for (const t of req.traffic) {
    const same = versions.find((v) => v.version === t.version);
    if (same) same.percent += t.percent;
    else versions.push({ version: t.version, uri: toLocalPath(t.artifactUri), percent: t.percent });
  }
  return {
    name: req.spec.model,
    versions,
    batching: { ...req.spec.batching },
    limits: { requestTimeoutSeconds: req.spec.timeoutSeconds },
    // Request lines would grow serve.log without bound; lifecycle logs are what a restart needs.
    logging: { level: 'info', requests: false },
    drainTimeoutSeconds: 10,
    ...(req.spec.monitoring &&
      monitoringRoot !== undefined && {
        monitoring: serverMonitoring(req.name, req.spec.monitoring, monitoringRoot),
      }),
  };
}

/**
 * The config to run: servingConfig, and for a `container.command` endpoint each version as an
 * upstream (endpoint-upstreams.ts), keeping the ports of the config serving now.
 */
async function configFor(
  req: PutEndpointRequest,
  previous: EndpointConfig | undefined,
  paths: StatePaths,
): Promise<EndpointConfig> {
  const config = servingConfig(req, paths.monitoring(req.name));
  const container = req.spec.container;
  if (!container) return config;
  return {
    ...config,
    versions: await upstreamVersions(container, config.versions, previous?.versions ?? []),
  };
}

/** The processes behind a config's upstream versions; none for a config without them. */
async function launchesFor(
  settings: LocalSettings,
  ctx: ProviderContext,
  record: Pick<EndpointRecord, 'name' | 'spec'>,
  config: EndpointConfig,
  dir: string,
): Promise<{ launches?: UpstreamLaunch[]; diagnostics: Diagnostic[] }> {
  const upstreams = config.versions.flatMap((v) => (v.upstream ? [{ ...v, upstream: v.upstream }] : []));
  const container = record.spec.container;
  if (upstreams.length === 0 || !container) return { launches: [], diagnostics: [] };
  return upstreamLaunches(
    settings,
    ctx,
    record.name,
    { model: record.spec.model, container },
    upstreams,
    dir,
  );
}

// ---- health --------------------------------------------------------------------------------

interface ProbeAnswer {
  status?: number;
  problem?: string;
  /** Whether the answer proved the launch key (always false without a key). */
  proven?: boolean;
}

/**
 * One GET on loopback without connection reuse: a status and whether it carried the proof of a
 * fresh challenge under `key`, or why there is none. Whatever listens on the port answers; only
 * the process we gave the key can prove it.
 */
function probe(url: string, timeoutMs: number, key: string | undefined): Promise<ProbeAnswer> {
  const challenge = newChallenge();
  return new Promise((resolve) => {
    const headers = key === undefined ? {} : { [CHALLENGE_HEADER]: challenge };
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs, headers }, (res) => {
      res.resume();
      const proof = res.headers[PROOF_HEADER];
      resolve({
        status: res.statusCode,
        proven: key !== undefined && typeof proof === 'string' && verifyProof(key, challenge, proof),
      });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ problem: `did not answer within ${timeoutMs} ms` });
    });
    req.on('error', (e) => resolve({ problem: errorMessage(e) }));
    req.end();
  });
}

async function healthOf(
  settings: LocalSettings,
  record: EndpointRecord,
  files: EndpointFiles,
): Promise<{ healthy: boolean; detail?: string }> {
  if (record.pid === undefined) return { healthy: false, detail: 'no serving process was started' };
  // An unproven process (a record from before process stamps) is asked over HTTP like ours; it is
  // only never signalled.
  if ((await identify(tracked(record, files))) === 'gone')
    return { healthy: false, detail: `process ${record.pid} not running` };
  const key = await readKey(files);
  if (key === undefined) {
    return {
      healthy: false,
      detail: `process ${record.pid} has no launch key on record: it cannot prove it answers on ${record.url}`,
    };
  }
  const live = `${record.url}/v2/health/live`;
  const answer = await probe(live, settings.healthTimeoutMs, key);
  if (answer.status === 200 && answer.proven) return { healthy: true };
  if (answer.status === 200) {
    return {
      healthy: false,
      detail: `${live} answered without the launch proof: another process answers on port ${record.port}`,
    };
  }
  return {
    healthy: false,
    detail: `process ${record.pid} is running but ${live} ${answer.status !== undefined ? `answered ${answer.status}` : answer.problem}`,
  };
}

function toObserved(
  record: EndpointRecord,
  config: EndpointConfig | undefined,
  health: { healthy: boolean; detail?: string },
): ObservedEndpoint {
  return {
    name: record.name,
    specHash: record.specHash,
    spec: record.spec,
    annotations: record.annotations,
    model: record.spec.model,
    traffic: config ? config.versions.map((v) => ({ version: v.version, percent: v.percent })) : [],
    url: record.url,
    healthy: health.healthy,
    ...(health.detail !== undefined && { healthDetail: health.detail }),
    // Locally only batching and the request timeout exist; scaling and resources are the cloud's.
    ...(config && {
      live: {
        batching: { ...config.batching },
        timeoutSeconds: config.limits.requestTimeoutSeconds,
      },
    }),
  };
}

/** The launch key of the running server; undefined when absent or not one we write. */
async function readKey(files: EndpointFiles): Promise<string | undefined> {
  const text = (await readText(files.key))?.trim();
  return isProofToken(text) ? text : undefined;
}

/** A config.json text as written by this provider; undefined when it is not one. */
function parseConfig(text: string): EndpointConfig | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return Value.Check(EndpointConfigSchema, value) ? (value as EndpointConfig) : undefined;
  } catch {
    return undefined;
  }
}

async function readConfig(files: EndpointFiles, address: string) {
  return readRecord(files.config, EndpointConfigSchema, address);
}

// ---- list ----------------------------------------------------------------------------------

export async function listEndpoints(
  settings: LocalSettings,
  ctx: ProviderContext,
): Promise<Response & { items: ObservedEndpoint[] }> {
  const paths = statePaths(stateRoot(settings, ctx));
  try {
    const names = await listDir(paths.endpoints);
    const files = names.map((name) => endpointFiles(paths, name));
    const [records, configs] = await Promise.all([
      readRecords(
        files.map((f, i) => ({ path: f.record, address: deployedEndpointAddress(names[i]) })),
        EndpointRecordSchema,
      ),
      readRecords(
        files.map((f, i) => ({ path: f.config, address: deployedEndpointAddress(names[i]) })),
        EndpointConfigSchema,
      ),
    ]);
    const loaded = names.map((_, i) => ({ files: files[i], record: records[i], config: configs[i] }));
    const healthLimit = pLimit(HEALTH_PARALLELISM);
    const diagnostics: Diagnostic[] = [];
    const items = await Promise.all(
      loaded.map(({ files, record, config }) => {
        if (record.status === 'corrupt') diagnostics.push(record.diagnostic);
        if (record.status !== 'ok' || record.value.labels['mlform-stack'] !== ctx.stack) return undefined;
        if (config.status === 'corrupt') diagnostics.push(config.diagnostic);
        const value = config.status === 'ok' ? config.value : undefined;
        return healthLimit(async () => {
          const observed = toObserved(record.value, value, await healthOf(settings, record.value, files));
          const monitoring = record.value.spec.monitoring;
          if (!monitoring || !value) return observed;
          const root = paths.monitoring(record.value.name);
          return {
            ...observed,
            monitoring: await observeLocalMonitoring(root, monitoring, value.versions, new Date()),
          };
        });
      }),
    );
    return { items: items.filter((i): i is ObservedEndpoint => i !== undefined), diagnostics };
  } catch (e) {
    return { items: [], diagnostics: [stateError('DeployedEndpoint', 'listing endpoints', e)] };
  }
}

// ---- processes -----------------------------------------------------------------------------

/**
 * Stops the endpoint's serving process, or (no pid recorded: the CLI died between spawn and
 * writing it) the processes carrying its config path and the record's launch id. Such a scan is
 * only needed then. A process that cannot be proven ours is left running, with a warning.
 */
async function stopServing(
  settings: LocalSettings,
  record: EndpointRecord | undefined,
  files: EndpointFiles,
): Promise<Diagnostic[]> {
  if (!record) return [];
  const t = tracked(record, files);
  let processes: TrackedProcess[] = [t];
  if (record.pid === undefined) {
    const pids = (await findLaunched([t])).get(t) ?? [];
    processes = await Promise.all(
      pids.map(async (pid) => ({ ...t, pid, launch: await launchStamp(pid, record.launch?.id ?? '') })),
    );
  }
  const outcomes = await Promise.all(processes.map((p) => stopProcess(p, settings.stopTimeoutMs)));
  return processes
    .filter((_, i) => outcomes[i] === 'unproven')
    .map((p) =>
      warning(
        'local-process-unproven',
        `${record.name}: process ${p.pid} was not signalled: it cannot be proven to be the server mlform started`,
        {
          address: deployedEndpointAddress(record.name),
          hint: 'a record written before process stamps, or not by mlform; stop the process yourself if it is yours',
        },
      ),
    );
}

/** The last line of serve.log that explains a failed start (a fatal log line, or stderr). */
async function failureReason(files: EndpointFiles): Promise<string | undefined> {
  const lines = await readLogTail(files.log, 64 * 1024);
  for (const line of [...lines].reverse()) {
    if (!line.startsWith('{')) return line.trim().slice(0, 500);
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: unknown };
      if ((entry.level ?? 0) >= 50) {
        const err = typeof entry.err === 'string' ? entry.err : JSON.stringify(entry.err ?? '');
        return `${entry.msg ?? 'error'}${err && err !== '""' ? `: ${err}` : ''}`.slice(0, 500);
      }
    } catch {
      return line.slice(0, 500);
    }
  }
  return undefined;
}

type StartOutcome = { state: 'ready' } | { state: 'exited'; code: number | null } | { state: 'timeout' };

/** Ready only when the answer proves the launch key: a 200 from anyone else is not our server. */
async function waitReady(
  url: string,
  key: string,
  proc: DetachedProcess,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<StartOutcome> {
  let exit: { code: number | null } | undefined;
  void proc.exited.then((e) => (exit = e));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe(`${url}/v2/health/ready`, 1_000, key);
    if (answer.status === 200 && answer.proven) return { state: 'ready' };
    if (exit) return { state: 'exited', code: exit.code };
    if (Date.now() >= deadline || signal?.aborted) return { state: 'timeout' };
    await sleep(100);
  }
}

async function rotateLog(path: string): Promise<void> {
  const size = (await stat(path).catch(() => undefined))?.size ?? 0;
  if (size > LOG_ROTATE_BYTES) await rename(path, `${path}.1`);
}

/**
 * Writes the config, the launch key and the record, starts the server on `socket` (bound here to
 * the record's port; handed over and closed in this process), waits for proven readiness.
 */
async function start(
  settings: LocalSettings,
  ctx: ProviderContext,
  files: EndpointFiles,
  record: EndpointRecord,
  configText: string,
  socket: Server,
  upstreams: readonly UpstreamLaunch[] = [],
): Promise<{ record: EndpointRecord; outcome: StartOutcome }> {
  try {
    return await launch(settings, ctx, files, record, configText, socket, upstreams);
  } finally {
    // The child has its own copy of the socket once spawned; ours would keep the port bound.
    await close(socket);
  }
}

async function launch(
  settings: LocalSettings,
  ctx: ProviderContext,
  files: EndpointFiles,
  record: EndpointRecord,
  configText: string,
  socket: Server,
  upstreams: readonly UpstreamLaunch[],
): Promise<{ record: EndpointRecord; outcome: StartOutcome }> {
  await writeTextAtomic(files.config, configText);
  const key = newProofKey();
  await writeTextAtomic(files.key, `${key}\n`, 0o600);
  // Recorded before the spawn (with the launch id) so that a crash right after it leaves a
  // findable endpoint.
  const launchId = randomUUID();
  const pending: EndpointRecord = { ...record, launch: { id: launchId } };
  delete pending.pid;
  delete pending.startedAt;
  await writeJsonAtomic(files.record, pending);
  await rotateLog(files.log);
  const proc = await spawnDetached({
    command: settings.cli.nodePath,
    args: serveArgs(settings.cli.cliPath(), files.config, record.port, launchId),
    cwd: files.dir,
    // The key goes in the environment (readable by this user only), never in the arguments.
    // So are the upstream launches (they may hold secret values); the server deletes both at start.
    env: {
      ...childEnv(settings, SERVE_ENV_OVERRIDES),
      [PROOF_KEY_ENV]: key,
      ...(upstreams.length > 0 && { [UPSTREAMS_ENV]: JSON.stringify(upstreams) }),
    },
    logFile: files.log,
    listenSocket: socket,
  });
  await close(socket);
  const started: EndpointRecord = {
    ...pending,
    pid: proc.pid,
    launch: await launchStamp(proc.pid, launchId),
    startedAt: settings.now().toISOString(),
  };
  await writeJsonAtomic(files.record, started);
  ctx.log?.(`started serving ${record.name} on ${record.url} (pid ${proc.pid})`);
  return {
    record: started,
    outcome: await waitReady(record.url, key, proc, settings.readyTimeoutMs, ctx.signal),
  };
}

/** Every served version must be a local artifact with the files the server loads. */
async function checkArtifacts(config: EndpointConfig, address: string): Promise<Diagnostic[]> {
  // A server of the user's reads whatever format it reads: the folder must only exist.
  const required = async (v: EndpointConfig['versions'][number]) =>
    v.upstream ? ['.'] : await servedFiles(v.uri);
  const out: Diagnostic[] = [];
  for (const [i, v] of config.versions.entries()) {
    if (isGcsUri(v.uri)) {
      out.push(
        error(
          'local-remote-artifact',
          `version ${v.version} is in ${v.uri}; local endpoints serve local artifacts`,
          {
            address,
            path: ['spec', 'traffic', i],
          },
        ),
      );
      continue;
    }
    // An artifact.json (your own trainer's artifact) declares its files; the server checks them at load.
    if (await exists(join(v.uri, CONTRACT_FILES.descriptor))) continue;
    const missing = [];
    for (const file of await required(v)) if (!(await exists(join(v.uri, file)))) missing.push(file);
    if (missing.length > 0) {
      out.push(
        error('local-artifact-incomplete', `version ${v.version} in ${v.uri} lacks ${missing.join(', ')}`, {
          address,
          path: ['spec', 'traffic', i],
        }),
      );
    }
  }
  return out;
}

async function portsOfOthers(paths: StatePaths, name: string): Promise<Set<number>> {
  const names = (await listDir(paths.endpoints)).filter((n) => n !== name);
  const records = await readRecords(
    names.map((n) => ({ path: endpointFiles(paths, n).record, address: deployedEndpointAddress(n) })),
    EndpointRecordSchema,
  );
  return new Set(records.flatMap((r) => (r.status === 'ok' ? [r.value.port] : [])));
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

// ---- put, delete ---------------------------------------------------------------------------

export async function putEndpoint(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: PutEndpointRequest,
): Promise<Response & { endpoint?: ObservedEndpoint }> {
  const address = deployedEndpointAddress(req.name);
  const invalid = checkName(req.name, 'DeployedEndpoint', address);
  if (invalid) return { diagnostics: [invalid] };
  if (req.traffic.length === 0) {
    return {
      diagnostics: [
        error('local-endpoint-empty', `${req.name}: no version to serve`, {
          address,
          hint: 'register a version of the model first',
        }),
      ],
    };
  }
  const paths = statePaths(stateRoot(settings, ctx));
  const files = endpointFiles(paths, req.name);
  try {
    const existing = await readRecord(files.record, EndpointRecordSchema, address);
    // Fails closed: starting over a damaged record would orphan the server it tracked.
    if (existing.status === 'corrupt') return { diagnostics: [existing.diagnostic] };
    const previous = existing.status === 'ok' ? existing.value : undefined;
    if (previous) {
      const owner = foreign(previous.labels, ctx.stack, address);
      if (owner) return { diagnostics: [owner] };
    }
    const serving = await readConfig(files, address);
    const config = await configFor(req, serving.status === 'ok' ? serving.value : undefined, paths);
    const problems = await checkArtifacts(config, address);
    if (problems.length > 0) return { diagnostics: problems };
    const upstreams = await launchesFor(settings, ctx, req, config, files.dir);
    if (!upstreams.launches) return { diagnostics: upstreams.diagnostics };
    const configText = toJsonText(config);
    const configSha256 = sha256(configText);
    const now = settings.now().toISOString();
    const applied = {
      specHash: req.specHash,
      labels: { ...req.labels, ...ownershipLabels(ctx.stack, 'DeployedEndpoint', req.name, req.specHash) },
      annotations: req.annotations,
      spec: req.spec,
      updatedAt: now,
    };

    const previousText = await readText(files.config);
    const previousHealth = previous ? await healthOf(settings, previous, files) : undefined;
    if (
      previous &&
      previousHealth?.healthy &&
      previous.configSha256 === configSha256 &&
      // The config does not hold a container's command, args or env: they restart it too.
      isDeepStrictEqual(previous.spec.container, req.spec.container) &&
      previousText !== undefined &&
      sha256(previousText) === configSha256
    ) {
      // Serving exactly this config already: a spec change that does not reach the config
      // (scaling, resources) is recorded without a restart.
      const record: EndpointRecord = { ...previous, ...applied };
      await writeJsonAtomic(files.record, record);
      return { endpoint: toObserved(record, config, previousHealth), diagnostics: [] };
    }

    // Whatever serves now stops first: the port is the endpoint's, and only one process has it.
    const unproven = await stopServing(settings, previous, files);
    const claim = await claimPort(previous?.port, () => portsOfOthers(paths, req.name), settings.basePort);
    if (!claim.ok) return { diagnostics: [...unproven, portTaken(req.name, claim)] };
    const port = claim.port;
    const record: EndpointRecord = {
      formatVersion: 1,
      name: req.name,
      ...applied,
      port,
      url: `http://${HOST}:${port}`,
      configSha256,
      createdAt: previous?.createdAt ?? now,
    };
    const started = await start(settings, ctx, files, record, configText, claim.server, upstreams.launches);
    if (started.outcome.state === 'ready') {
      return { endpoint: toObserved(started.record, config, { healthy: true }), diagnostics: unproven };
    }
    const recovered = await recover(settings, ctx, files, started, {
      previous: previousHealth?.healthy ? previous : undefined,
      previousText,
    });
    return { ...recovered, diagnostics: [...unproven, ...recovered.diagnostics] };
  } catch (e) {
    return { diagnostics: [stateError(address, 'deploying', e)] };
  }
}

/** The endpoint's port is held by another process: clients of the endpoint would reach it. */
function portTaken(name: string, claim: { port: number; holder?: string }): Diagnostic {
  return error(
    'local-endpoint-port-taken',
    `${name}: port ${claim.port} of this endpoint is held by ${claim.holder ?? 'another process'}; the endpoint was not started elsewhere, since its clients would keep calling port ${claim.port}`,
    {
      address: deployedEndpointAddress(name),
      hint: `stop whatever listens on ${HOST}:${claim.port} and apply again, or delete the endpoint (mlform destroy) to give it a new port`,
    },
  );
}

/**
 * The new config did not become ready. If the server exited (a version that cannot load) and the
 * endpoint was serving before, the previous config goes back up: traffic only ever moves to
 * versions that load. The record keeps the previous spec hash, so the plan still shows the change.
 */
async function recover(
  settings: LocalSettings,
  ctx: ProviderContext,
  files: EndpointFiles,
  started: { record: EndpointRecord; outcome: StartOutcome },
  before: { previous?: EndpointRecord; previousText?: string },
): Promise<Response & { endpoint?: ObservedEndpoint }> {
  const { record, outcome } = started;
  const address = deployedEndpointAddress(record.name);
  const reason = await failureReason(files);
  if (outcome.state === 'timeout') {
    const config = await readConfig(files, address);
    return {
      endpoint: toObserved(record, config.status === 'ok' ? config.value : undefined, {
        healthy: false,
        detail: `not ready after ${settings.readyTimeoutMs} ms`,
      }),
      diagnostics: [
        error(
          'local-endpoint-not-ready',
          `${record.name}: the serving process (pid ${record.pid}) was not ready within ${Math.round(settings.readyTimeoutMs / 1000)} s`,
          { address, hint: `see ${files.log}; it keeps starting, and the next apply checks it again` },
        ),
      ],
    };
  }
  const failure = error(
    'local-endpoint-exited',
    `${record.name}: the serving process exited with ${outcome.state === 'exited' ? outcome.code : '?'} before it was ready${reason ? `: ${reason}` : ''}`,
    { address, hint: `see ${files.log}` },
  );
  const { previous, previousText } = before;
  if (!previous || previousText === undefined) {
    return {
      endpoint: toObserved(record, undefined, { healthy: false, detail: 'the serving process exited' }),
      diagnostics: [failure],
    };
  }
  // The failed server exited, so its port is free again, unless someone took it meanwhile.
  const claim = await claimPort(record.port, async () => new Set(), 0);
  if (!claim.ok) {
    return {
      endpoint: toObserved(record, undefined, { healthy: false, detail: 'the serving process exited' }),
      diagnostics: [failure, portTaken(record.name, claim)],
    };
  }
  const previousServing = parseConfig(previousText);
  const relaunch = previousServing
    ? await launchesFor(settings, ctx, previous, previousServing, files.dir)
    : { launches: [], diagnostics: [] };
  const restored = await start(
    settings,
    ctx,
    files,
    { ...previous, port: record.port, url: record.url },
    previousText,
    claim.server,
    relaunch.launches ?? [],
  );
  const previousConfig = await readConfig(files, address);
  const healthy = restored.outcome.state === 'ready';
  return {
    endpoint: toObserved(restored.record, previousConfig.status === 'ok' ? previousConfig.value : undefined, {
      healthy,
      ...(!healthy && { detail: 'the previous config did not come back up either' }),
    }),
    diagnostics: [
      {
        ...failure,
        hint: `${healthy ? 'the previous config serves again' : 'the previous config failed too'}; see ${files.log}`,
      },
    ],
  };
}

export async function deleteEndpoint(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: { name: string },
): Promise<Response> {
  const address = deployedEndpointAddress(req.name);
  const invalid = checkName(req.name, 'DeployedEndpoint', address);
  if (invalid) return { diagnostics: [invalid] };
  const files = endpointFiles(statePaths(stateRoot(settings, ctx)), req.name);
  try {
    const existing = await readRecord(files.record, EndpointRecordSchema, address);
    if (existing.status === 'corrupt') return { diagnostics: [existing.diagnostic] };
    if (existing.status === 'ok') {
      const owner = foreign(existing.value.labels, ctx.stack, address);
      if (owner) return { diagnostics: [owner] };
    }
    if (existing.status === 'missing' && !(await exists(files.dir))) return { diagnostics: [] };
    // SIGTERM: the server drains in-flight requests, then exits; waited for, so the port is free.
    const unproven = await stopServing(
      settings,
      existing.status === 'ok' ? existing.value : undefined,
      files,
    );
    await removeDir(files.dir);
    ctx.log?.(`deleted endpoint ${req.name}`);
    return { diagnostics: unproven };
  } catch (e) {
    return { diagnostics: [stateError(address, 'deleting', e)] };
  }
}
