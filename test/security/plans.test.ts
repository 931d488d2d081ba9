/**
 * Attack (issue 18, point 2): a saved plan is executed as written. Whoever can write the file
 * between `mlform plan --out FILE` and `mlform apply FILE` (a CI artifact, a shared folder) edits it:
 * appends the registration of a run that failed its gate and moves `champion` to it, appends the
 * delete of a model marked `mlform/prevent-destroy`, points an endpoint at an artifact outside
 * the stack's registry, or points a run's `manifestPath` outside the tree. The fingerprint covers
 * the manifests and the observed state, not the changes, so on d942f70 each of these was carried
 * out. Now `apply FILE` plans again and refuses a file whose changes differ (exit 1, nothing
 * changed), while the untampered file still applies.
 */
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

let root: string;
let project: string;
/** The plan `plan --out` saved after the first apply: it launches TrainingRun/fresh. */
let saved: string;
/** The plan that created everything: its endpoint create holds a full endpoint payload to copy. */
let firstPlan: Plan;

interface Change {
  action: string;
  kind: string;
  address: string;
  resource: string;
  dependsOn: string[];
  after: Record<string, unknown> | null;
  [key: string]: unknown;
}
interface Plan {
  changes: Change[];
  basis: { desired: string; observed: string };
  [key: string]: unknown;
}

function mlform(args: string[]) {
  const r = runCli(args, { timeoutMs: 120_000 });
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

const yaml = (lines: string[]) => `${lines.join('\n')}\n`;
const run = (name: string, model: string | null) =>
  yaml([
    'apiVersion: mlform/v1',
    'kind: TrainingRun',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    ...(model ? [`  model: ${model}`] : []),
    '  trainer:',
    '    builtin:',
    '      task: regression',
    '      data:',
    '        uri: file://data/cars.json',
    '        target: Miles_per_Gallon',
    '        features: [Cylinders, Horsepower, Weight_in_lbs]',
    '      network: {type: mlp, layers: [4]}',
    '      hyperparameters: {epochs: 1, batchSize: 16}',
    '      seed: 1',
  ]);

const MODELS = yaml([
  'apiVersion: mlform/v1',
  'kind: RegisteredModel',
  'metadata:',
  '  name: mpg',
  'spec:',
  '  gate: {metric: val_mae, max: 0.001}   # no 1-epoch run gets there',
  '  aliases:',
  '    champion: {policy: best, metric: val_mae}',
  '---',
  'apiVersion: mlform/v1',
  'kind: RegisteredModel',
  'metadata:',
  '  name: served',
  'spec:',
  '  aliases:',
  '    champion: {policy: best, metric: val_mae}',
  '---',
  'apiVersion: mlform/v1',
  'kind: RegisteredModel',
  'metadata:',
  '  name: keep',
  '  annotations: {mlform/prevent-destroy: "true"}',
  'spec: {}',
  '---',
  'apiVersion: mlform/v1',
  'kind: DeployedEndpoint',
  'metadata:',
  '  name: api',
  'spec:',
  '  model: served',
  '  preset: development',
]);

const readPlan = async (file: string): Promise<Plan> => JSON.parse(await readFile(file, 'utf8')) as Plan;

/** Writes a copy of the saved plan with `edit` applied, as the attacker would. */
async function tampered(name: string, edit: (plan: Plan) => void): Promise<string> {
  const plan = await readPlan(saved);
  edit(plan);
  const file = join(root, `${name}.json`);
  await writeFile(file, JSON.stringify(plan, null, 2));
  return file;
}

/** A fresh plan of the project: its observed digest says whether anything changed. */
async function observedNow(): Promise<string> {
  const file = join(root, 'now.json');
  const result = mlform(['plan', project, '--out', file]);
  expect(result.status, result.stderr).toBe(0);
  return (await readPlan(file)).basis.observed;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-plans-'));
  project = join(root, 'project');
  await mkdir(join(project, 'data'), { recursive: true });
  // A small slice of the cars data: a 1-epoch training takes a second or two.
  const cars = JSON.parse(await readFile('examples/data/cars.json', 'utf8')) as unknown[];
  await writeFile(join(project, 'data', 'cars.json'), JSON.stringify(cars.slice(0, 80)));
  await writeFile(
    join(project, 'mlform.yaml'),
    'stack: plans\nprovider: local\nlocal: {stateDir: .mlform}\n',
  );
  await writeFile(join(project, 'models.yaml'), MODELS);
  await writeFile(join(project, 'gated.yaml'), run('gated', 'mpg'));
  await writeFile(join(project, 'good.yaml'), run('good', 'served'));

  const first = join(root, 'first.json');
  expect(mlform(['plan', project, '--out', first]).status).toBe(0);
  firstPlan = await readPlan(first);
  const applied = mlform(['apply', first, project]);
  expect(applied.status, `${applied.stdout}${applied.stderr}`).toBe(0);

  // The state the attacks start from: gated#1 failed the gate, served v1 is champion and serves.
  await writeFile(join(project, 'fresh.yaml'), run('fresh', null));
  saved = join(root, 'saved.json');
  const plan = mlform(['plan', project, '--out', saved]);
  expect(plan.status, plan.stderr).toBe(0);
  expect(plan.stdout).toContain('gated#1 failed the gate');
  expect(plan.stdout).toContain('+ TrainingRun/fresh');
}, 180_000);

afterAll(async () => {
  mlform(['destroy', '-y', project]);
  // Leave no serving process behind, whatever happened above.
  const endpoints = join(project, '.mlform', 'endpoints');
  for (const name of await readdir(endpoints).catch(() => [] as string[])) {
    const record = await readFile(join(endpoints, name, 'endpoint.json'), 'utf8').catch(() => '{}');
    const pid = (JSON.parse(record) as { pid?: number }).pid;
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  // A cancelled training may still be writing its checkpoint into its run folder: retried.
  await rm(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
});

describe('a saved plan edited after `plan --out`', () => {
  it('is written 0600, and as saved it is exactly what plan computes now', async () => {
    expect((await stat(saved)).mode & 0o777).toBe(0o600);
    const plan = await readPlan(saved);
    expect(plan.changes.filter((c) => c.action === 'create').map((c) => c.address)).toEqual([
      'TrainingRun/fresh',
    ]);
  });

  it('an appended registration of a gate-failing run and a champion move: refused, nothing registered', async () => {
    const before = await observedNow();
    const file = await tampered('register', (plan) => {
      const register = {
        action: 'register',
        kind: 'RegisteredModel',
        address: 'RegisteredModel/mpg/versions/gated#1',
        resource: 'RegisteredModel/mpg',
        reason: 'gated#1 passed the gate',
        fields: [],
        dependsOn: [],
        before: null,
        after: {
          model: 'mpg',
          run: { name: 'gated', number: 1 },
          deferred: false,
          version: 1,
          specHash: `sha256:${'0'.repeat(64)}`,
          artifactUri: join(project, '.mlform', 'runs', 'gated', '1', 'artifact'),
          metrics: { val_mae: 0.0001 },
          baseline: {},
          gate: 'val_mae 0.0001 <= 0.001',
        },
      };
      const promote = {
        action: 'promote',
        kind: 'RegisteredModel',
        address: 'RegisteredModel/mpg/aliases/champion',
        resource: 'RegisteredModel/mpg',
        reason: 'champion follows best val_mae',
        fields: [],
        dependsOn: [register.address],
        before: { model: 'mpg', alias: 'champion', version: null },
        after: {
          model: 'mpg',
          alias: 'champion',
          rule: { policy: 'best', metric: 'val_mae', goal: 'minimize' },
          deferred: false,
          version: 1,
        },
      };
      plan.changes.push(register as unknown as Change, promote as unknown as Change);
      (plan.summary as Record<string, number>).register += 1;
      (plan.summary as Record<string, number>).promote += 1;
    });
    const apply = mlform(['apply', file, project, '--no-wait']);
    expect(apply.status).toBe(1);
    expect(apply.stderr).toContain('[plan-tampered] the saved plan does not match the plan computed now');
    expect(apply.stderr).toContain('register RegisteredModel/mpg/versions/gated#1, is not planned');
    expect(apply.stdout).not.toContain('RegisteredModel/mpg/versions/gated#1');
    expect(await readdir(join(project, '.mlform', 'registry', 'mpg', 'versions')).catch(() => [])).toEqual(
      [],
    );
    expect(await observedNow()).toBe(before);
  });

  it('an appended delete of a prevent-destroy model: refused, the model stays', async () => {
    const before = await observedNow();
    let position = 0;
    const file = await tampered('delete', (plan) => {
      plan.changes.push({
        action: 'delete',
        kind: 'RegisteredModel',
        target: 'model',
        address: 'RegisteredModel/keep',
        resource: 'RegisteredModel/keep',
        reason: 'no longer in the manifests',
        fields: [],
        dependsOn: [],
        before: { name: 'keep', specHash: 'sha256:0', versions: [] },
        after: null,
      });
      (plan.summary as Record<string, number>).delete += 1;
      position = plan.changes.length;
    });
    const apply = mlform(['apply', file, project, '--no-wait']);
    expect(apply.status).toBe(1);
    expect(apply.stderr).toContain(`change ${position}, delete RegisteredModel/keep, is not planned`);
    expect((await stat(join(project, '.mlform', 'registry', 'keep', 'model.json'))).isFile()).toBe(true);
    expect(await observedNow()).toBe(before);
  });

  it("an endpoint update serving another project's artifact: refused, the endpoint keeps its own", async () => {
    const before = await observedNow();
    // Another project's version, on the same host (a copy stands for it).
    const foreign = join(root, 'other', '.mlform', 'registry', 'served', 'versions', '1');
    await cp(join(project, '.mlform', 'registry', 'served', 'versions', '1'), foreign, { recursive: true });
    const created = firstPlan.changes.find(
      (c) => c.address === 'DeployedEndpoint/api' && c.action === 'create',
    );
    expect(created?.after).toBeTruthy();
    const after = created?.after as Record<string, unknown>;
    const file = await tampered('endpoint', (plan) => {
      const index = plan.changes.findIndex((c) => c.address === 'DeployedEndpoint/api');
      const traffic = [{ selector: 'champion', percent: 100, version: 1, artifactUri: foreign }];
      const update = {
        action: 'update',
        kind: 'DeployedEndpoint',
        address: 'DeployedEndpoint/api',
        resource: 'DeployedEndpoint/api',
        reason: 'traffic',
        fields: [],
        dependsOn: [],
        before: { specHash: after.specHash, spec: after.spec, traffic, healthy: true, healthDetail: null },
        after: { ...after, traffic, trafficDeferred: false },
      };
      if (index >= 0) plan.changes[index] = update as unknown as Change;
      else plan.changes.push(update as unknown as Change);
    });
    const apply = mlform(['apply', file, project, '--no-wait']);
    expect(apply.status).toBe(1);
    expect(apply.stderr).toMatch(/\[plan-tampered\].*DeployedEndpoint\/api/);
    const record = JSON.parse(
      await readFile(join(project, '.mlform', 'endpoints', 'api', 'config.json'), 'utf8'),
    ) as unknown;
    expect(JSON.stringify(record)).not.toContain(join(root, 'other'));
    expect(await observedNow()).toBe(before);
  });

  it("a run's manifestPath edited to a manifest outside the tree: refused before anything launches", async () => {
    const evil = join(root, 'evil');
    await mkdir(join(evil, 'data'), { recursive: true });
    await writeFile(join(evil, 'fresh.yaml'), run('fresh', null));
    await writeFile(join(evil, 'data', 'cars.json'), '[{"Miles_per_Gallon": 1}]');
    const file = await tampered('path', (plan) => {
      const create = plan.changes.find((c) => c.address === 'TrainingRun/fresh');
      if (create?.after) create.after.manifestPath = join(evil, 'fresh.yaml');
    });
    const apply = mlform(['apply', file, project, '--no-wait']);
    expect(apply.status).toBe(1);
    expect(apply.stderr).toContain(
      `[plan-path-outside-tree] ${file}: TrainingRun/fresh after.manifestPath is ${JSON.stringify(join(evil, 'fresh.yaml'))}, outside the manifest tree (`,
    );
    expect(await readdir(join(project, '.mlform', 'runs'))).not.toContain('fresh');
  });

  it('the untampered saved plan still applies', async () => {
    const apply = mlform(['apply', saved, project, '--no-wait']);
    expect(apply.status, `${apply.stdout}${apply.stderr}`).toBe(0);
    expect(apply.stdout).toContain('TrainingRun/fresh');
    expect(await readdir(join(project, '.mlform', 'runs'))).toContain('fresh');
  });
});
