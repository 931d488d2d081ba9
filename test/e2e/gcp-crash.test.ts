/**
 * Crash safety of apply on `provider: gcp`: SIGKILL `mlform apply` at 20 seeded moments spread
 * over a whole apply (planning, launching the CustomJob, waiting for it, registering the version,
 * moving the alias, rolling out the Cloud Run revision, creating the scheduler job), then apply
 * again. The result must converge with no duplicate CustomJob, model version, Cloud Run revision
 * or Cloud Scheduler job. The fake runs in this process, so it (and the training containers it
 * runs, see FAKE_OPTIONS) outlives the killed CLI, as Google would. Needs `dist/` (`npm run build`).
 *
 * The second test kills apply at one chosen point, while the first Cloud Run revision is still
 * starting (Cloud Run takes tens of seconds there). It found a real bug: the next apply created
 * `mpg-api-v1-<config>` beside `mpg-api-v1` and moved the traffic to it; providers/gcp/endpoints.ts
 * now waits for a same-configuration revision that is still starting.
 *
 * A killed apply leaves its lease (`<stack>/locks/apply.json`, TTL 60 s; the same holder on the
 * same host takes it over at once since its pid is gone, but the test does not rely on that shortcut,
 * which another host would not have). Waiting 60 s per kill is not an option here, so between
 * kills the test lets that time pass: it rewrites a dead holder's record with an expiry in the past,
 * and the next apply takes the expired lease over (providers/gcp/lease.ts) as it would a minute later.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  startFakeGcp,
  type FakeContainerRun,
  type FakeGcp,
  type FakeGcpOptions,
} from '../fakes/gcp/index.js';
import { mulberry32 } from '../../trainer/data/random.js';
import { syntheticTrainer } from '../providers/gcp/helpers.js';

const REPO = resolve('.');
const BUCKET = 'mlform-test';
const LOCK_OBJECT = 'state/quickstart/locks/apply.json';
const SEED = 20261122;
const KILLS = 20;

let root: string;
let fake: FakeGcp | undefined;
const trainers = new Set<AbortController>();

type Json = Record<string, unknown>;
const labelsOf = (o: Json) => (o.labels ?? {}) as Record<string, string>;

const baseEnv = (endpoint: string, extra: Record<string, string | undefined> = {}) => ({
  ...process.env,
  NO_COLOR: '1',
  FORCE_COLOR: undefined,
  CI: 'true',
  MLFORM_BACKEND: 'wasm',
  MLFORM_GCP_API_ENDPOINT: endpoint,
  MLFORM_GCP_RETRY_BASE_MS: '20',
  ...extra,
});

const LOCK_PATH = /locks(%2F|\/)apply\.json/;

/** When the apply asked for its lock (its first request): ms since epoch, or undefined. */
const lockRequestAt = (f: FakeGcp, from: number): number | undefined =>
  f.requests.slice(from).find((r) => LOCK_PATH.test(r.path))?.at;

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  ms: number;
  /** ms from spawn to the apply's first request (its lock), when `watch` was given. */
  lockAt?: number;
}

/**
 * Runs the CLI. With `watch` and `killAfterLockMs`: SIGKILL that long after the apply's first
 * request (taking its lock) reached the fake. Counting from there, not from the spawn, keeps the
 * kill points on the apply's work however long Node takes to start on a busy machine.
 */
function run(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { signal?: AbortSignal; watch?: FakeGcp; killAfterLockMs?: number } = {},
): Promise<RunResult> {
  return new Promise((done) => {
    const t0 = Date.now();
    const from = options.watch?.requests.length ?? 0;
    const child = spawn(process.execPath, [join(REPO, 'bin/mlform.js'), ...args], {
      cwd: REPO,
      env,
      ...(options.signal && { signal: options.signal }),
    });
    let lockAt: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    const poll = options.watch
      ? setInterval(() => {
          const at = options.watch && lockRequestAt(options.watch, from);
          if (at === undefined) return;
          clearInterval(poll);
          lockAt = at - t0;
          if (options.killAfterLockMs !== undefined) {
            timer = setTimeout(
              () => child.kill('SIGKILL'),
              Math.max(0, at + options.killAfterLockMs - Date.now()),
            );
          }
        }, 2)
      : undefined;
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => undefined);
    child.on('close', (code, signal) => {
      if (poll) clearInterval(poll);
      if (timer) clearTimeout(timer);
      done({ code, signal, out, ms: Date.now() - t0, ...(lockAt !== undefined && { lockAt }) });
    });
  });
}

/** What Vertex AI would run: the trainer image's entrypoint `mlform train` with the job's args. */
async function runTrainer(
  job: FakeContainerRun,
  signal: AbortSignal,
): Promise<{ exitCode: number; message?: string }> {
  const abort = new AbortController();
  trainers.add(abort);
  const onAbort = () => abort.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await run(
      ['train', ...job.containerSpec.args],
      { ...process.env, ...job.env, MLFORM_BACKEND: 'wasm' },
      {
        signal: abort.signal,
      },
    );
    return r.code === 0 ? { exitCode: 0 } : { exitCode: r.code ?? 1, message: r.out.slice(-500) };
  } finally {
    signal.removeEventListener('abort', onAbort);
    trainers.delete(abort);
  }
}

/**
 * The container Vertex AI runs. By default a synthetic trainer (writes metrics.json and run.json
 * through the fake's Cloud Storage after 4 s of "training"), like test/e2e/gcp-faults.test.ts:
 * what is under test is the provider's idempotency, and 20 CLI start-ups already cost most of the
 * time budget. `MLFORM_E2E_REAL_TRAINER=1` runs the real one (`mlform train`), several minutes.
 */
const REAL_TRAINER = process.env.MLFORM_E2E_REAL_TRAINER === '1';
const synthetic = syntheticTrainer({ val_mae: 2.1, val_loss: 0.05 });
async function syntheticSlow(job: FakeContainerRun): Promise<{ exitCode: number }> {
  await new Promise((r) => setTimeout(r, 4000));
  return synthetic(job);
}

const FAKE_OPTIONS: FakeGcpOptions = {
  runContainer: REAL_TRAINER ? runTrainer : syntheticSlow,
  // Some latency stretches the apply's steps (registering, rolling out) against the CLI's start-up,
  // during which the training goes on: more kills land inside a step instead of after the last one.
  latencyMs: 40,
  jobTiming: { queuedMs: 100, pendingMs: 100, runningMs: 10 },
  operationDelayMs: [20, 150],
  revisionReadyMs: 400,
};

async function quickstartCopy(name: string): Promise<string> {
  const project = join(root, name);
  await cp('examples/quickstart', project, { recursive: true, filter: (src) => !src.includes('.mlform') });
  await writeFile(
    join(project, 'mlform.yaml'),
    [
      'stack: quickstart',
      'provider: gcp',
      'gcp:',
      '  project: demo-proj',
      '  region: europe-west4',
      `  bucket: gs://${BUCKET}/state`,
      '  trainerImage: europe-docker.pkg.dev/demo-proj/mlform/trainer:1',
      '  servingImage: europe-docker.pkg.dev/demo-proj/mlform/serving:1',
      '  serviceAccount: mlform-runner@demo-proj.iam.gserviceaccount.com',
      '',
    ].join('\n'),
  );
  return project;
}

/** A killed apply's lease, aged past its expiry (what a minute of waiting would do). */
function expireDeadLease(f: FakeGcp): boolean {
  const lock = f.objects(BUCKET).find((o) => o.name === LOCK_OBJECT);
  if (!lock) return false;
  const record = JSON.parse(lock.data.toString('utf8')) as { pid: number; expiresAt: string };
  try {
    process.kill(record.pid, 0);
    return false; // alive: not ours to touch
  } catch {
    // dead holder
  }
  const expiresAt = new Date(Date.now() - 1000).toISOString();
  f.seed.object(BUCKET, LOCK_OBJECT, JSON.stringify({ ...record, expiresAt }), {
    contentType: 'application/json',
    metadata: { ...lock.metadata, expiresAt },
  });
  return true;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-gcp-crash-'));
  await cp('examples/data/cars.json', join(root, 'data', 'cars.json'));
  // A clone, as in the README: the quickstart's ../data is inside the repository (its tree root).
  execFileSync('git', ['init', '-q', root]);
});

afterAll(async () => {
  for (const t of trainers) t.abort();
  await fake?.close();
  if (root) await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

/** The final state: exactly one of each, by the provider's own identities (labels, names). */
function expectNoDuplicates(f: FakeGcp): void {
  const jobs = f.customJobs().filter((j) => labelsOf(j)['mlform-stack'] === 'quickstart');
  const described = jobs.map(
    (j) => `${String(j.displayName)} ${JSON.stringify(labelsOf(j))} ${String(j.state)}`,
  );
  expect(jobs, described.join('\n')).toHaveLength(1);
  // Run #1 normally; #2 when a kill fell between the pending marker and CreateCustomJob (the marker
  // goes stale after 2 minutes, #1 is then observed failed, "launch interrupted", and retried as #2).
  expect(labelsOf(jobs[0])).toMatchObject({ 'mlform-name': 'mpg-mlp' });
  expect(jobs[0].state).toBe('JOB_STATE_SUCCEEDED');

  const versions = f.models();
  expect(versions.map((v) => `${String(v.name)}@${String(v.versionId)}`)).toEqual([
    'projects/demo-proj/locations/europe-west4/models/mlform-quickstart_mpg@1',
  ]);
  expect(versions[0].versionAliases).toContain('champion');

  const services = f.services();
  expect(services.map((s) => String(s.name).split('/').pop())).toEqual(['mpg-api']);
  expect(f.revisions().map((r) => String(r.name).split('/').pop())).toEqual(['mpg-api-v1']);
  expect(((services[0].traffic ?? []) as Json[]).map((t) => [t.revision, t.percent])).toEqual([
    ['mpg-api-v1', 100],
  ]);

  expect(f.schedulerJobs().map((j) => String(j.name).split('/').pop())).toEqual([
    'mlform-quickstart_mpg-weekly',
  ]);
}

describe('gcp apply killed with SIGKILL', () => {
  it('at 20 seeded points: converges afterwards with no duplicate job, version, revision or scheduler job', async () => {
    // One full apply on its own fake (same timings): how long it takes, and when its first request
    // goes out (before that the CLI is starting up and loading: a kill there changes nothing).
    const calibration = await startFakeGcp(FAKE_OPTIONS);
    let fullMs: number;
    let activeMs: number;
    try {
      const project = await quickstartCopy('calibration');
      const full = await run(['apply', '-y', project], baseEnv(calibration.url), { watch: calibration });
      expect(full.code, full.out).toBe(0);
      fullMs = full.ms;
      activeMs = full.ms - (full.lockAt ?? 0);
    } finally {
      await calibration.close();
    }

    fake = await startFakeGcp(FAKE_OPTIONS);
    const f = fake;
    const project = await quickstartCopy('quickstart');
    const env = baseEnv(f.url);
    const random = mulberry32(SEED);
    // Stratified over the apply's active part (from its first request, taking the lock, to its exit):
    // kill i lands at a seeded random point of the i-th twentieth. Each apply starts where the killed
    // ones left off (the fake, and the training it runs, live on), so the kills walk through locking,
    // planning, launching, waiting, registering, moving the alias, rolling out and scheduling; once
    // an apply gets to the end, the later ones are no-op applies (the log says how many were killed).
    const offsets = Array.from({ length: KILLS }, (_, i) => Math.floor(((i + random()) / KILLS) * activeMs));
    const kills: string[] = [];
    let interrupted = 0;
    for (let i = 0; i < KILLS; i++) {
      expireDeadLease(f);
      const at = offsets[i];
      const before = f.requests.length;
      const r = await run(['apply', '-y', project], env, { watch: f, killAfterLockMs: at });
      const lines = r.out.trim().split('\n');
      const last = (r.signal ? lines.at(-1) : lines.find((l) => /Apply complete|No changes/.test(l))) ?? '';
      if (r.signal) interrupted++;
      const sent = f.requests.slice(before).filter((q) => !q.internal);
      const tail = sent
        .slice(-2)
        .map((q) => `${q.rpc} ${decodeURIComponent(q.path).split('/').slice(-2).join('/')}`)
        .join(', ');
      kills.push(
        `#${i + 1} at lock + ${at} ms: ${r.signal ?? `exit ${r.code}`}, ${sent.length} requests, last: ${tail} (${last.trim().slice(0, 80)})`,
      );
    }
    console.log(
      `one full apply: ${fullMs} ms, ${activeMs} ms of it from taking the lock to the exit; ${interrupted} of ${KILLS} applies killed:\n  ${kills.join('\n  ')}`,
    );
    expect(interrupted, 'kills that hit a running apply').toBeGreaterThanOrEqual(3);

    expireDeadLease(f);
    const final = await run(['apply', '-y', project], env);
    expect(final.code, final.out).toBe(0);
    const plan = await run(['plan', '--detailed-exitcode', project], env);
    expect(plan.code, plan.out).toBe(0);
    const job = f.customJobs()[0];
    console.log(`final: ${String(job?.displayName)} ${JSON.stringify(job?.labels)}`);
    expectNoDuplicates(f);
  }, 600_000);

  it('while the first Cloud Run revision is still starting: no second revision of the same version', async () => {
    // Real revisions take tens of seconds to become ready (image pull, model download, startup
    // probe); the next apply then finds the service reconciling and rolls out again.
    const f = await startFakeGcp({ ...FAKE_OPTIONS, runContainer: syntheticSlow, revisionReadyMs: 15_000 });
    try {
      const project = await quickstartCopy('slow-revision');
      const env = baseEnv(f.url);
      let killAt = '';
      const killed = await new Promise<NodeJS.Signals | null>((done) => {
        const child = spawn(process.execPath, [join(REPO, 'bin/mlform.js'), 'apply', '-y', project], {
          cwd: REPO,
          env,
        });
        child.stdout.on('data', (d: Buffer) => {
          if (!killAt && d.toString().includes('DeployedEndpoint/mpg-api: creating')) {
            killAt = d.toString();
            setTimeout(() => child.kill('SIGKILL'), 1000);
          }
        });
        child.on('close', (_code, signal) => done(signal));
      });
      expect(killed).toBe('SIGKILL');
      expect(f.revisions().map((r) => String(r.name).split('/').pop())).toEqual(['mpg-api-v1']);

      expireDeadLease(f);
      const again = await run(['apply', '-y', project], env);
      expect(again.code, again.out).toBe(0);
      expect(f.revisions().map((r) => String(r.name).split('/').pop())).toEqual(['mpg-api-v1']);
      expect(((f.services()[0].traffic ?? []) as Json[]).map((t) => [t.revision, t.percent])).toEqual([
        ['mpg-api-v1', 100],
      ]);
    } finally {
      await f.close();
    }
  }, 120_000);
});
