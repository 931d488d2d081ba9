/**
 * A no-op plan over 1,000 managed resources on `provider: gcp`, against test/fakes/gcp with 50 ms
 * injected latency per request, side by side in one run with a Terraform-style refresh (one read
 * per managed resource, Terraform's default parallelism 10) through the same SDK clients.
 *
 * Per scenario: a generated project (mlform.yaml `provider: gcp` + 1,000 manifests across the four
 * kinds) is converged once at 0 latency by the engine's own `apply` in this process (the fake's
 * `runContainer` writes a minimal trainer artifact: metrics.json + run.json), a `mlform plan
 * --detailed-exitcode` checks it is a no-op (exit 0), then latency goes to 50 ms and
 *
 * - mlform: `node bin/mlform.js plan --detailed-exitcode DIR` in a child process (the compiled
 *   build, `MLFORM_GCP_API_ENDPOINT` pointing at the fake, the provider's default client-side
 *   quota buckets), requests counted by API/RPC from the fake's log; any Get* / objects.get fails
 *   the bench (a no-op plan must issue only list calls);
 * - Terraform-style: GetCustomJob / GetModel / GetService / GetJob for each managed resource with
 *   10 in flight, once unthrottled and once under the same client-side quota buckets mlform obeys
 *   (providers/gcp/call.ts DEFAULT_BUCKETS, the published default quotas).
 *
 * Run: npm run build && npm run bench -- gcp-plan
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { v1 as aiplatform } from '@google-cloud/aiplatform';
import { ServicesClient } from '@google-cloud/run';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import {
  fakeClientOptions,
  startFakeGcp,
  type FakeContainerRun,
  type FakeGcp,
  type FakeRequest,
} from '../test/fakes/gcp/index.js';
import { loadManifests } from '../manifests/load.js';
import { apply } from '../controller/engine/apply.js';
import { createGcpProvider } from '../providers/gcp/index.js';
import { createCaller, type Caller } from '../providers/gcp/call.js';
import type { GcpApi } from '../providers/gcp/api-calls.js';

const ROOT = join(import.meta.dirname, '..');
const LATENCY_MS = 50;
const TERRAFORM_PARALLELISM = 10;
const GOAL_MS = 1000;
/** `mlform plan` runs per scenario (the median is reported) and start-up breakdown runs. */
const PLAN_RUNS = 5;
const STARTUP_RUNS = 3;
const STACK = 'bench';
const PROJECT = 'demo-proj';
const REGION = 'europe-west4';
const BUCKET = 'mlform-bench';

interface Scenario {
  id: string;
  runs: number;
  models: number;
  endpoints: number;
  schedules: number;
}

/** 1,000 resources each; `BENCH_GCP_SCENARIOS=A` runs one. */
export const SCENARIOS: Scenario[] = [
  { id: 'A', runs: 400, models: 200, endpoints: 200, schedules: 200 },
  { id: 'B', runs: 580, models: 20, endpoints: 200, schedules: 200 },
];

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const runName = (i: number) => `r-${pad(i, 4)}`;
const modelName = (i: number) => `m-${pad(i, 3)}`;
const endpointName = (i: number) => `e-${pad(i, 3)}`;
const scheduleName = (i: number) => `s-${pad(i, 3)}`;

const MLFORM_YAML = [
  `stack: ${STACK}`,
  'provider: gcp',
  'gcp:',
  `  project: ${PROJECT}`,
  `  region: ${REGION}`,
  `  bucket: gs://${BUCKET}/state`,
  `  trainerImage: europe-docker.pkg.dev/${PROJECT}/mlform/trainer:1`,
  `  servingImage: europe-docker.pkg.dev/${PROJECT}/mlform/serving:1`,
  `  serviceAccount: mlform-runner@${PROJECT}.iam.gserviceaccount.com`,
  '',
].join('\n');

/** Two runs feed each model; the other runs register nowhere. */
export async function writeProject(dir: string, s: Scenario): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'mlform.yaml'), MLFORM_YAML);
  const files: [string, string][] = [];
  for (let i = 0; i < s.runs; i++) {
    const model = i < 2 * s.models ? `  model: ${modelName(i % s.models)}\n` : '';
    files.push([
      `${runName(i)}.yaml`,
      `apiVersion: mlform/v1\nkind: TrainingRun\nmetadata: {name: ${runName(i)}, labels: {team: t${i % 7}}}\nspec:\n${model}` +
        `  trainer:\n    builtin:\n      task: regression\n      data: {uri: gs://${BUCKET}/data/cars.json, target: Miles_per_Gallon, features: [Cylinders, Horsepower, Weight_in_lbs]}\n` +
        `      network: {type: mlp, layers: [16]}\n      hyperparameters: {epochs: 5, batchSize: 32, learningRate: 0.003}\n      seed: ${i}\n`,
    ]);
  }
  for (let i = 0; i < s.models; i++) {
    files.push([
      `${modelName(i)}.yaml`,
      `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: ${modelName(i)}}\nspec:\n  description: model ${i}\n` +
        `  gate: {metric: val_mae, max: 4, beatBaseline: true}\n  aliases:\n    champion: {policy: best, metric: val_mae}\n`,
    ]);
  }
  for (let i = 0; i < s.endpoints; i++) {
    files.push([
      `${endpointName(i)}.yaml`,
      `apiVersion: mlform/v1\nkind: DeployedEndpoint\nmetadata: {name: ${endpointName(i)}}\nspec:\n  model: ${modelName(i % s.models)}\n` +
        `  traffic:\n    - {version: champion, percent: 100}\n  preset: development\n`,
    ]);
  }
  for (let i = 0; i < s.schedules; i++) {
    files.push([
      `${scheduleName(i)}.yaml`,
      `apiVersion: mlform/v1\nkind: Schedule\nmetadata: {name: ${scheduleName(i)}}\nspec:\n  trainingRun: ${runName(i)}\n` +
        `  cron: '${i % 60} 6 * * 1'\n  timeZone: Europe/Warsaw\n`,
    ]);
  }
  for (let i = 0; i < files.length; i += 200) {
    await Promise.all(files.slice(i, i + 200).map(([name, text]) => writeFile(join(dir, name), text)));
  }
}

/** A "trainer" writing the artifact files the provider reads, straight into the fake's storage. */
function syntheticTrainer(fakeOf: () => FakeGcp) {
  return (run: FakeContainerRun): Promise<{ exitCode: number }> => {
    const args = run.containerSpec.args;
    const i = args.indexOf('--out');
    const out = i >= 0 ? args[i + 1] : `${args[args.indexOf('--out-base') + 1]}/${run.jobId}`;
    const m = /^gs:\/\/([^/]+)\/(.*)$/.exec(out ?? '');
    if (!m) return Promise.resolve({ exitCode: 2 });
    // Distinct metrics per run, so `champion: best` has no ties.
    const h = createHash('sha256').update(run.displayName).digest().readUInt16BE(0);
    const valMae = 2 + (h % 1000) / 1000;
    fakeOf().seed.object(
      m[1],
      `${m[2]}/metrics.json`,
      JSON.stringify({ metrics: { val_mae: valMae, val_loss: valMae / 10 }, baseline: { val_mae: 6.5 } }),
      { contentType: 'application/json' },
    );
    fakeOf().seed.object(
      m[1],
      `${m[2]}/run.json`,
      JSON.stringify({
        specHash: 'x',
        data: { sha256: 'd'.repeat(64) },
        finishedAt: new Date().toISOString(),
      }),
      { contentType: 'application/json' },
    );
    return Promise.resolve({ exitCode: 0 });
  };
}

const BASELINE = process.env.BENCH_GCP_BASELINE;
/** Per scenario: the wall times of the baseline checkout's `mlform plan` (BENCH_GCP_BASELINE). */
const baselines = new Map<string, number[]>();

function runCli(
  args: string[],
  endpoint: string,
  root = ROOT,
): Promise<{ code: number | null; out: string; ms: number; startedAt: number; endedAt: number }> {
  return new Promise((done) => {
    const t0 = performance.now();
    const startedAt = Date.now();
    const child = spawn(process.execPath, [join(root, 'bin', 'mlform.js'), ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        NO_COLOR: '1',
        FORCE_COLOR: undefined,
        CI: 'true',
        MLFORM_GCP_API_ENDPOINT: endpoint,
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) =>
      done({ code, out, ms: performance.now() - t0, startedAt, endedAt: Date.now() }),
    );
  });
}

/** Converges the generated project once, in process, at 0 latency (generous client-side quotas). */
export async function converge(dir: string, fake: FakeGcp): Promise<void> {
  const { desired, diagnostics } = await loadManifests([dir]);
  const config = desired.project?.config.gcp;
  if (!config) throw new Error(`bad generated project: ${JSON.stringify(diagnostics.slice(0, 3))}`);
  const fast = { perSecond: 100_000, burst: 100_000 };
  const provider = createGcpProvider({
    config,
    endpoint: fake.url,
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    settings: { pollMs: 20 },
    buckets: {
      'aiplatform:read': fast,
      'aiplatform:write': fast,
      'run:read': fast,
      'run:write': fast,
      'scheduler:read': fast,
      'scheduler:write': fast,
    },
  });
  try {
    const result = await apply({
      provider,
      ctx: { stack: STACK, projectDir: dir },
      desired,
      parallelism: 40,
      pollMs: 200,
    });
    if (!result.ok) {
      const first = result.diagnostics.filter((d) => d.severity === 'error').slice(0, 5);
      throw new Error(`seeding apply failed (${result.failed.length} resources): ${JSON.stringify(first)}`);
    }
  } finally {
    await provider.close();
  }
}

interface Calls {
  total: number;
  lists: number;
  gets: number;
  byRpc: Map<string, number>;
}

const isGet = (r: FakeRequest) => /^Get/.test(r.rpc) || r.rpc === 'objects.get';
const isList = (r: FakeRequest) => /^List/.test(r.rpc) || r.rpc === 'objects.list';

function countCalls(requests: readonly FakeRequest[]): Calls {
  const external = requests.filter((r) => !r.internal);
  const byRpc = new Map<string, number>();
  for (const r of external) byRpc.set(`${r.api} ${r.rpc}`, (byRpc.get(`${r.api} ${r.rpc}`) ?? 0) + 1);
  return {
    total: external.length,
    lists: external.filter(isList).length,
    gets: external.filter(isGet).length,
    byRpc: new Map([...byRpc].sort((a, b) => a[0].localeCompare(b[0]))),
  };
}

const rpcText = (c: Calls) => [...c.byRpc].map(([k, n]) => `${k.replace(/^\S+ /, '')} ${n}`).join(', ');

/** One read per managed resource, `TERRAFORM_PARALLELISM` at once, optionally under mlform's quota buckets. */
async function terraformRefresh(fake: FakeGcp, throttled: boolean): Promise<number> {
  const o = fakeClientOptions(fake);
  const jobs = new aiplatform.JobServiceClient(o);
  const models = new aiplatform.ModelServiceClient(o);
  const services = new ServicesClient(o);
  const scheduler = new CloudSchedulerClient(o);
  const call: Caller | undefined = throttled ? createCaller({ maxAttempts: 1 }) : undefined;
  const parent = `projects/${PROJECT}/locations/${REGION}`;
  const mine = (labels: unknown) =>
    (labels as Record<string, string> | undefined)?.['mlform-stack'] === STACK;
  const reads: [GcpApi, string, () => Promise<unknown>][] = [];
  for (const j of fake.customJobs().filter((j) => mine(j.labels))) {
    const name = String(j.name);
    reads.push(['aiplatform', 'GetCustomJob', () => jobs.getCustomJob({ name })]);
  }
  const modelIds = new Set(
    fake
      .models()
      .filter((m) => mine(m.labels))
      .map((m) => String(m.name)),
  );
  for (const name of modelIds) reads.push(['aiplatform', 'GetModel', () => models.getModel({ name })]);
  for (const s of fake.services().filter((s) => mine(s.labels))) {
    const name = String(s.name);
    reads.push(['run', 'GetService', () => services.getService({ name })]);
  }
  for (const j of fake
    .schedulerJobs()
    .filter((j) => String(j.name).startsWith(`${parent}/jobs/mlform-${STACK}_`))) {
    const name = String(j.name);
    reads.push(['scheduler', 'GetJob', () => scheduler.getJob({ name })]);
  }
  const limit = pLimit(TERRAFORM_PARALLELISM);
  const t0 = performance.now();
  await Promise.all(
    reads.map(([api, rpc, read]) => limit(() => (call ? call(api, rpc, () => read()) : read()))),
  );
  const ms = performance.now() - t0;
  await Promise.all([jobs.close(), models.close(), services.close(), scheduler.close()]);
  return ms;
}

interface Row {
  scenario: Scenario;
  approach: string;
  calls: Calls;
  wallMs: number;
  /** mlform only: spawn to first request, first request to last answer, last answer to exit. */
  phases?: { beforeMs: number; apiMs: number; afterMs: number };
  /** mlform only: every run's wall time (wallMs is their median). */
  runsMs?: number[];
}

/** Per scenario: the median of each start-up stage over STARTUP_RUNS runs of bench/gcp-startup-worker.mjs. */
const startup = new Map<string, { stages: Record<string, number>; built: string[] }>();

/** Asynchronously: the fake answering the worker's requests runs in this process. */
function runWorker(dir: string, endpoint: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', 'gcp-startup-worker.mjs'), dir], {
      cwd: ROOT,
      env: { ...process.env, MLFORM_GCP_API_ENDPOINT: endpoint, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => done({ code, out }));
  });
}

async function startupBreakdown(
  dir: string,
  endpoint: string,
): Promise<{ stages: Record<string, number>; built: string[] }> {
  const samples: Record<string, number>[] = [];
  let built: string[] = [];
  for (let i = 0; i < STARTUP_RUNS; i++) {
    const r = await runWorker(dir, endpoint);
    if (r.code !== 0) throw new Error(`start-up breakdown failed:\n${r.out.slice(-3000)}`);
    const line =
      r.out
        .trim()
        .split('\n')
        .find((l) => l.startsWith('{"stages"')) ?? '{}';
    const out = JSON.parse(line) as {
      stages: Record<string, number>;
      totalMs: number;
      cpuMs: number;
      built: string[];
    };
    samples.push({ ...out.stages, total: out.totalMs, cpu: out.cpuMs });
    built = out.built;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const stages = Object.fromEntries(
    Object.keys(samples[0]).map((k) => [k, median(samples.map((x) => x[k]))]),
  );
  return { stages, built };
}

const STAGE_LABELS: Record<string, string> = {
  node: 'Node start-up (to the first line of the entry module)',
  cliModules: 'CLI module graph (controller/cli/entry.js and the plan command)',
  gcpModules: 'gcp provider modules (no SDK yet)',
  manifests: 'load and validate the 1,000 manifests',
  validate: 'Provider.validate (offline; Secret Manager only with a secretRef)',
  observe:
    "the four listings over REST (14 calls, 50 ms latency each, quota buckets; the list responses' protos and the decoding included)",
  plan: 'plan and render',
  total: 'total',
  cpu: "CPU time of the process (user + system: less sensitive than wall times to the machine's load)",
};

function startupTable(): string[] {
  const ids = [...startup.keys()];
  if (ids.length === 0) return [];
  const keys = Object.keys(startup.get(ids[0])?.stages ?? {});
  return [
    '',
    `Where a plan's time goes (bench/gcp-startup-worker.mjs: the plan command's steps one after the other in one fresh process on the compiled build, each timed, so each stage's own cost shows (the command itself overlaps the listings with loading the manifests); median of ${STARTUP_RUNS} runs; SDK clients built: ${startup.get(ids[0])?.built.join(', ') || 'none'}):`,
    '',
    `| stage | ${ids.map((id) => `${id} ms`).join(' | ')} |`,
    `| --- | ${ids.map(() => '---').join(' | ')} |`,
    ...keys.map(
      (k) =>
        `| ${STAGE_LABELS[k] ?? k} | ${ids.map((id) => (startup.get(id)?.stages[k] ?? 0).toFixed(0)).join(' | ')} |`,
    ),
  ];
}

/** The fake the scenarios converge in: fast job timings, a synthetic trainer. */
export async function startBenchFake(): Promise<FakeGcp> {
  const holder: { fake?: FakeGcp } = {};
  const fake = await startFakeGcp({
    runContainer: syntheticTrainer(() => holder.fake as FakeGcp),
    jobTiming: { queuedMs: 5, pendingMs: 5, runningMs: 20 },
    operationDelayMs: 0,
    revisionReadyMs: 0,
  });
  holder.fake = fake;
  return fake;
}

async function runScenario(s: Scenario): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), `mlform-gcp-plan-bench-${s.id}-`));
  const fake = await startBenchFake();
  try {
    await writeProject(dir, s);
    const t0 = performance.now();
    await converge(dir, fake);
    console.log(
      `[${s.id}] converged ${s.runs + s.models + s.endpoints + s.schedules} resources in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
        `(${fake.customJobs().length} jobs, ${fake.models().length} model versions, ${fake.services().length} services, ${fake.schedulerJobs().length} scheduler jobs)`,
    );

    // Converged: a plan is a no-op (exit 0). Also leaves the outcome cache warm, as in steady state.
    const check = await runCli(['plan', '--detailed-exitcode', dir], fake.url);
    if (check.code !== 0)
      throw new Error(`[${s.id}] plan after converging exited ${check.code}:\n${check.out.slice(-3000)}`);

    fake.setLatency(LATENCY_MS);
    const rows: Row[] = [];

    // Several runs, the median reported (a loaded 2-core machine varies by hundreds of ms); the
    // calls are those of the median run, and every run must issue list calls only.
    // BENCH_GCP_BASELINE=<a built checkout>: its `mlform plan` too, alternating with this one's
    // (same stack, same fake, same load), for a before/after in one run.
    const runs: { plan: Awaited<ReturnType<typeof runCli>>; requests: FakeRequest[] }[] = [];
    const baselineMs: number[] = [];
    for (let i = 0; i < PLAN_RUNS; i++) {
      if (BASELINE) {
        const before = await runCli(['plan', '--detailed-exitcode', dir], fake.url, BASELINE);
        if (before.code !== 0)
          throw new Error(`[${s.id}] baseline plan exited ${before.code}:\n${before.out.slice(-3000)}`);
        baselineMs.push(before.ms);
      }
      fake.resetRequests();
      const run = await runCli(['plan', '--detailed-exitcode', dir], fake.url);
      if (run.code !== 0)
        throw new Error(`[${s.id}] no-op plan exited ${run.code}:\n${run.out.slice(-3000)}`);
      runs.push({ plan: run, requests: [...fake.requests] });
    }
    runs.sort((a, b) => a.plan.ms - b.plan.ms);
    const { plan, requests: planRequests } = runs[Math.floor(runs.length / 2)];
    const calls = countCalls(planRequests);
    for (const run of runs) {
      const gets = run.requests.filter(isGet);
      if (gets.length > 0)
        throw new Error(
          `[${s.id}] the no-op plan issued ${gets.length} per-resource reads: ${rpcText(countCalls(gets))}`,
        );
      if (countCalls(run.requests).total !== calls.total)
        throw new Error(
          `[${s.id}] no-op plans issued ${countCalls(run.requests).total} and ${calls.total} calls`,
        );
    }
    startup.set(s.id, await startupBreakdown(dir, fake.url));
    if (BASELINE) baselines.set(s.id, baselineMs);
    const ats = planRequests.map((r) => r.at);
    rows.push({
      scenario: s,
      approach: 'mlform plan (list per kind)',
      calls,
      wallMs: plan.ms,
      runsMs: runs.map((r) => r.plan.ms),
      phases: {
        beforeMs: Math.min(...ats) - plan.startedAt,
        apiMs: Math.max(...ats) + LATENCY_MS - Math.min(...ats),
        afterMs: plan.endedAt - (Math.max(...ats) + LATENCY_MS),
      },
    });
    console.log(`[${s.id}] mlform plan: ${calls.total} calls (${rpcText(calls)}), ${plan.ms.toFixed(0)} ms`);

    for (const throttled of [false, true]) {
      fake.resetRequests();
      const ms = await terraformRefresh(fake, throttled);
      const tf = countCalls(fake.requests);
      rows.push({
        scenario: s,
        approach: throttled
          ? `Terraform-style, 1 read/resource, ${TERRAFORM_PARALLELISM} parallel, same quota buckets`
          : `Terraform-style, 1 read/resource, ${TERRAFORM_PARALLELISM} parallel, unthrottled`,
        calls: tf,
        wallMs: ms,
      });
      console.log(
        `[${s.id}] terraform-style${throttled ? ' (throttled)' : ''}: ${tf.total} calls (${rpcText(tf)}), ${ms.toFixed(0)} ms`,
      );
    }
    return rows;
  } finally {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runGcpPlanBench(): Promise<string> {
  const wanted = (process.env.BENCH_GCP_SCENARIOS ?? SCENARIOS.map((s) => s.id).join(',')).split(',');
  const rows: Row[] = [];
  for (const s of SCENARIOS.filter((x) => wanted.includes(x.id))) rows.push(...(await runScenario(s)));
  const lines = [
    '| resources (runs / models / endpoints / schedules) | approach | API calls | list pages | per-resource reads | calls by RPC | refresh ms | whole command ms, median (start-up + refresh + plan) | refresh time vs mlform | calls vs mlform | goal: no-op plan < 1 s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const verdict = (ms: number) => (ms < GOAL_MS ? 'met' : '**not met**');
  for (const r of rows) {
    const base = rows.find((x) => x.scenario === r.scenario && x.phases !== undefined);
    const refreshMs = r.phases ? r.phases.apiMs : r.wallMs;
    const baseRefresh = base?.phases?.apiMs ?? refreshMs;
    const s = r.scenario;
    const whole = r.phases
      ? `**${r.wallMs.toFixed(0)}** (${r.phases.beforeMs} + ${r.phases.apiMs} + ${r.phases.afterMs})`
      : '-';
    const goal = r.phases ? `whole command: ${verdict(r.wallMs)}; refresh: ${verdict(r.phases.apiMs)}` : '';
    lines.push(
      `| ${s.id}: ${s.runs} / ${s.models} / ${s.endpoints} / ${s.schedules} | ${r.approach} | ${r.calls.total} | ${r.calls.lists} | ${r.calls.gets} | ${rpcText(r.calls)} | ` +
        `**${refreshMs.toFixed(0)}** | ${whole} | ${(refreshMs / baseRefresh).toFixed(2)}× | ${(r.calls.total / (base?.calls.total ?? r.calls.total)).toFixed(1)}× | ${goal} |`,
    );
  }
  lines.push(
    '',
    `${LATENCY_MS} ms injected latency on every request (test/fakes/gcp \`setLatency\`), default page size 100, each ` +
      'scenario converged first and checked to be a no-op (`plan --detailed-exitcode` exits 0). ' +
      '**mlform**: `node bin/mlform.js plan --detailed-exitcode` on the compiled build in a child process, with the ' +
      "provider's default client-side quota buckets (Vertex AI 10 requests/s, burst 20); any Get* or objects.get " +
      'request fails the bench. "Refresh" is the observation: first request to last answer as the fake saw them. ' +
      'The listings start as soon as mlform.yaml is loaded (`openProject` `observeEarly`), so the refresh overlaps ' +
      'loading and validating the 1,000 manifests; the whole command adds Node start-up and the project file ' +
      '(before the first request) and the rest of the load, planning and rendering (after the last answer). ' +
      'Observation is one paged list per kind; a ' +
      "model's versions come from its GCS snapshot while the model's updateTime is unchanged, else from one " +
      'ListModelVersions for that model (Vertex AI has no call listing the versions of every model). ' +
      `**Terraform-style**: one Get per managed resource (GetCustomJob per run, GetModel per model, GetService per endpoint, GetJob per schedule), ${TERRAFORM_PARALLELISM} at once ` +
      "(Terraform's default `-parallelism`), from the bench process, through the same SDK clients; its refresh is all of its time. " +
      'Once without a rate limit, once under the same client-side buckets as mlform (the published default quotas; ' +
      'Terraform itself has none and would instead collect 429s from Vertex AI and back off). ' +
      `mlform plan: ${PLAN_RUNS} runs per scenario, the median reported (${rows
        .filter((r) => r.runsMs)
        .map((r) => `${r.scenario.id}: ${(r.runsMs ?? []).map((ms) => ms.toFixed(0)).join(', ')} ms`)
        .join('; ')}). ` +
      [...baselines]
        .map(([id, ms]) => {
          const sorted = [...ms].sort((a, b) => a - b);
          return `Baseline ${BASELINE} (\`mlform plan\` of that checkout, alternating with this one's runs) ${id}: median **${sorted[Math.floor(sorted.length / 2)].toFixed(0)}** ms (${ms.map((x) => x.toFixed(0)).join(', ')}). `;
        })
        .join('') +
      `Load average during the run: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores.`,
    ...startupTable(),
  );
  return lines.join('\n');
}
