/**
 * Point 3 of issue 18 on `provider: gcp`, through the CLI against test/fakes/gcp: cloud names
 * cannot collide across stacks, and an object under a name mlform derives is touched only when its
 * labels (a Scheduler job: its description, or the CustomJob it posts) say it is this stack's.
 *
 * Before: `mlform-<stack>-<name>` made stack `a` + `b-c` and stack `a-b` + `c` the same Cloud
 * Scheduler job and the same Vertex AI model; one stack's apply overwrote the other's job and
 * registered its versions into the other's model, and its destroy deleted them.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { v1 as aiplatform } from '@google-cloud/aiplatform';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClientOptions, startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';
import { syntheticTrainer } from '../providers/gcp/helpers.js';

const REPO = resolve('.');
const PARENT = 'projects/demo-proj/locations/europe-west4';

let root: string;
let fake: FakeGcp;
let scheduler: CloudSchedulerClient;
let models: aiplatform.ModelServiceClient;

type Json = Record<string, unknown>;

function mlform(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/mlform.js'), ...args], {
      cwd: root,
      env: {
        ...process.env,
        NO_COLOR: '1',
        FORCE_COLOR: undefined,
        CI: 'true',
        MLFORM_GCP_API_ENDPOINT: fake.url,
        MLFORM_GCP_RETRY_BASE_MS: '20',
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => done({ code, out }));
  });
}

/** A project of stack `stack` with a TrainingRun, a RegisteredModel and a Schedule all named `name`. */
async function project(stack: string, name: string, opts: { cron?: string; epochs?: number } = {}) {
  const dir = join(root, stack);
  await mkdir(dir, { recursive: true });
  await copyFile(resolve('examples/data/cars.json'), join(dir, 'cars.json'));
  await writeFile(
    join(dir, 'mlform.yaml'),
    [
      `stack: ${stack}`,
      'provider: gcp',
      'gcp:',
      '  project: demo-proj',
      '  region: europe-west4',
      '  bucket: gs://mlform-test/state',
      '  trainerImage: europe-docker.pkg.dev/demo-proj/mlform/trainer:1',
      '  servingImage: europe-docker.pkg.dev/demo-proj/mlform/serving:1',
      '  serviceAccount: mlform-runner@demo-proj.iam.gserviceaccount.com',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'resources.yaml'),
    [
      'apiVersion: mlform/v1',
      'kind: TrainingRun',
      `metadata: {name: ${name}}`,
      'spec:',
      `  model: ${name}`,
      '  trainer:',
      '    builtin:',
      '      task: regression',
      '      data: {uri: file://cars.json, target: Miles_per_Gallon, features: [Cylinders, Weight_in_lbs]}',
      '      network: {type: mlp, layers: [4]}',
      `      hyperparameters: {epochs: ${opts.epochs ?? 1}}`,
      '---',
      'apiVersion: mlform/v1',
      'kind: RegisteredModel',
      `metadata: {name: ${name}}`,
      'spec:',
      `  description: ${stack}/${name}`,
      '  aliases: {champion: {policy: best, metric: val_mae}}',
      '---',
      'apiVersion: mlform/v1',
      'kind: Schedule',
      `metadata: {name: ${name}}`,
      'spec:',
      `  trainingRun: ${name}`,
      `  cron: '${opts.cron ?? '0 6 * * 1'}'`,
      '  timeZone: Europe/Warsaw',
      '',
    ].join('\n'),
  );
  return dir;
}

const idOf = (o: Json) => String(o.name).split('/').pop() ?? '';
const jobIds = () => fake.schedulerJobs().map(idOf).sort();
const job = (id: string) => fake.schedulerJobs().find((j) => idOf(j) === id);
/** Model id -> its versions as `v<N>:<stack>/<name>` from each version's own labels. */
function modelMap(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const v of fake.models()) {
    const labels = (v.labels ?? {}) as Record<string, string>;
    (out[idOf(v)] ??= []).push(`v${String(v.versionId)}:${labels['mlform-stack']}/${labels['mlform-name']}`);
  }
  for (const k of Object.keys(out)) out[k].sort();
  return out;
}

/**
 * Moves a stack's Scheduler job and Vertex model to the names releases before issue 18 gave them
 * (`mlform-<stack>-<name>`), in the form they wrote: a description without the owner, a model
 * whose versions carry the same labels. This is the state an upgrade finds.
 */
async function downgrade(stack: string, name: string): Promise<void> {
  const current = job(`mlform-${stack}_${name}`) as Json & { httpTarget: Json; description: string };
  const described = /^mlform spec ([0-9a-f]+) (\{.*\})$/s.exec(current.description);
  if (!described) throw new Error('not an mlform description');
  const { s, a } = JSON.parse(described[2]) as { s: unknown; a: unknown };
  await scheduler.createJob({
    parent: PARENT,
    job: {
      name: `${PARENT}/jobs/mlform-${stack}-${name}`,
      description: `mlform spec ${described[1]} ${JSON.stringify({ s, a })}`,
      schedule: String(current.schedule),
      timeZone: String(current.timeZone),
      httpTarget: {
        ...current.httpTarget,
        body: Buffer.from(String(current.httpTarget.body), 'base64'),
      },
    },
  });
  await scheduler.deleteJob({ name: String(current.name) });

  const from = `${PARENT}/models/mlform-${stack}_${name}`;
  const [versions] = await models.listModelVersions({ name: from });
  versions.sort((x, y) => Number(x.versionId) - Number(y.versionId));
  const to = `${PARENT}/models/mlform-${stack}-${name}`;
  for (const [i, v] of versions.entries()) {
    const [op] = await models.uploadModel({
      parent: PARENT,
      ...(i === 0 ? { modelId: `mlform-${stack}-${name}` } : { parentModel: to }),
      model: {
        displayName: v.displayName,
        description: v.description,
        versionDescription: v.versionDescription,
        artifactUri: v.artifactUri,
        containerSpec: v.containerSpec,
        labels: v.labels,
      },
    });
    await op.promise();
    const aliases = (v.versionAliases ?? []).filter((x) => x !== 'default');
    if (aliases.length > 0)
      await models.mergeVersionAliases({ name: `${to}@${v.versionId}`, versionAliases: aliases });
  }
  for (const v of versions.filter((x) => !(x.versionAliases ?? []).includes('default'))) {
    const [op] = await models.deleteModelVersion({ name: `${from}@${v.versionId}` });
    await op.promise();
  }
  const [op] = await models.deleteModel({ name: from });
  await op.promise();
}

beforeAll(async () => {
  fake = await startFakeGcp({
    runContainer: syntheticTrainer(),
    jobTiming: { queuedMs: 5, pendingMs: 5, runningMs: 5 },
  });
  scheduler = new CloudSchedulerClient(fakeClientOptions(fake));
  models = new aiplatform.ModelServiceClient(fakeClientOptions(fake));
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-names-'));
});

afterAll(async () => {
  await scheduler?.close();
  await models?.close();
  await fake?.close();
  if (root) await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('cloud names on gcp', () => {
  it('stack a with b-c and stack a-b with c get their own job and model; destroying one leaves the other', async () => {
    const a = await project('a', 'b-c');
    const ab = await project('a-b', 'c');
    const first = await mlform('apply', '-y', a);
    expect(first.out).toContain('Apply complete');
    expect(first.code).toBe(0);
    const second = await mlform('apply', '-y', ab);
    expect(second.out).toContain('Apply complete');
    expect(second.code).toBe(0);

    expect(jobIds()).toEqual(['mlform-a-b_c', 'mlform-a_b-c']);
    expect(modelMap()).toEqual({ 'mlform-a_b-c': ['v1:a/b-c'], 'mlform-a-b_c': ['v1:a-b/c'] });
    for (const dir of [a, ab]) {
      const plan = await mlform('plan', '--detailed-exitcode', dir);
      expect(plan.out).toContain('No changes');
      expect(plan.code).toBe(0);
    }

    const aJob = job('mlform-a_b-c');
    const destroyed = await mlform('destroy', '-y', ab);
    expect(destroyed.code).toBe(0);
    expect(jobIds()).toEqual(['mlform-a_b-c']);
    expect(job('mlform-a_b-c')).toEqual(aJob);
    expect(modelMap()).toEqual({ 'mlform-a_b-c': ['v1:a/b-c'] });
    const still = await mlform('plan', '--detailed-exitcode', a);
    expect(still.out).toContain('No changes');
    expect(still.code).toBe(0);
    expect((await mlform('destroy', '-y', a)).code).toBe(0);
    expect(jobIds()).toEqual([]);
  }, 180_000);

  it('adopts a job and a model of the old names by their labels, and never another stack’s', async () => {
    // Stack x-y applied by a release before issue 18: its job and model are `mlform-x-y-z`, the
    // very names the old scheme also gave stack x's `y-z`.
    const xy = await project('x-y', 'z');
    expect((await mlform('apply', '-y', xy)).code).toBe(0);
    await downgrade('x-y', 'z');
    expect(jobIds()).toEqual(['mlform-x-y-z']);
    expect(modelMap()).toEqual({ 'mlform-x-y-z': ['v1:x-y/z'] });

    const adopted = await mlform('plan', '--detailed-exitcode', xy);
    expect(adopted.out).toContain('No changes');
    expect(adopted.code).toBe(0);

    // Stack x's y-z maps to the same old name, but the labels there say x-y: x creates its own.
    const legacyJob = job('mlform-x-y-z');
    const x = await project('x', 'y-z');
    const other = await mlform('apply', '-y', x);
    expect(other.code).toBe(0);
    expect(jobIds()).toEqual(['mlform-x-y-z', 'mlform-x_y-z']);
    expect(job('mlform-x-y-z')).toEqual(legacyJob);
    expect(modelMap()).toEqual({ 'mlform-x-y-z': ['v1:x-y/z'], 'mlform-x_y-z': ['v1:x/y-z'] });

    // x-y changes its schedule and retrains: both land on the adopted objects, under their old
    // names (their history stays), and nothing is created under the new ones.
    await project('x-y', 'z', { cron: '30 7 * * 2', epochs: 2 });
    const changed = await mlform('apply', '-y', xy);
    expect(changed.out).toContain('Apply complete');
    expect(changed.code).toBe(0);
    expect(jobIds()).toEqual(['mlform-x-y-z', 'mlform-x_y-z']);
    expect(job('mlform-x-y-z')?.schedule).toBe('30 7 * * 2');
    expect(modelMap()).toEqual({
      'mlform-x-y-z': ['v1:x-y/z', 'v2:x-y/z'],
      'mlform-x_y-z': ['v1:x/y-z'],
    });

    // Destroying x leaves x-y's adopted objects alone; destroying x-y removes them.
    expect((await mlform('destroy', '-y', x)).code).toBe(0);
    expect(jobIds()).toEqual(['mlform-x-y-z']);
    expect(modelMap()).toEqual({ 'mlform-x-y-z': ['v1:x-y/z', 'v2:x-y/z'] });
    expect((await mlform('destroy', '-y', xy)).code).toBe(0);
    expect(jobIds()).toEqual([]);
    expect(modelMap()).toEqual({});
  }, 240_000);

  it('refuses a foreign job and a foreign model under its new names, and leaves them untouched', async () => {
    // Someone else's objects under the names stack f's `g` maps to.
    await scheduler.createJob({
      parent: PARENT,
      job: {
        name: `${PARENT}/jobs/mlform-f_g`,
        description: 'nightly export, owned by the data team',
        schedule: '0 1 * * *',
        timeZone: 'Etc/UTC',
        httpTarget: { uri: 'https://example.com/export', httpMethod: 'POST' },
      },
    });
    const [op] = await models.uploadModel({
      parent: PARENT,
      modelId: 'mlform-f_g',
      model: {
        displayName: 'g',
        artifactUri: 'gs://other-bucket/model',
        labels: { 'mlform-stack': 'other', 'mlform-kind': 'registeredmodel', 'mlform-name': 'g' },
      },
    });
    await op.promise();
    const before = { job: job('mlform-f_g'), models: fake.models() };

    const f = await project('f', 'g');
    const applied = await mlform('apply', '-y', f);
    expect(applied.code).toBe(1);
    expect(applied.out).toMatch(
      /\[gcp-not-owned\] Schedule\/g: Cloud Scheduler job projects\/demo-proj\/locations\/europe-west4\/jobs\/mlform-f_g exists and is not stack f's \(it carries no mlform owner/,
    );
    expect(applied.out).toMatch(
      /\[gcp-not-owned\] RegisteredModel\/g: Vertex AI model projects\/demo-proj\/locations\/europe-west4\/models\/mlform-f_g exists and is not stack f's \(it carries stack other's registeredmodel g\)/,
    );
    expect(job('mlform-f_g')).toEqual(before.job);
    expect(fake.models()).toEqual(before.models);

    const destroyed = await mlform('destroy', '-y', f);
    expect(job('mlform-f_g')).toEqual(before.job);
    expect(fake.models()).toEqual(before.models);
    expect(destroyed.out).toContain('[gcp-not-owned] RegisteredModel/g: Vertex AI model');
    expect(jobIds()).toEqual(['mlform-f_g']);
  }, 180_000);
});
