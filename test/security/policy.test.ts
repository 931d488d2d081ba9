/**
 * Attack (issue 11, point 13): a commit asks for more than the operator allows: 8 GPUs, a region
 * outside the allowed ones, a schedule every minute, or the deletion of what it no longer names.
 * With the operator's policy (`--policy FILE`, outside the tree), `plan` fails at the manifest's
 * line:col naming the rule and the policy file, with exit 1; on b5d9ab0 the same plan passed.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

let root: string;
let project: string;
let policyFile: string;

const POLICY = `# the operator's policy
apiVersion: mlform/v1
kind: Policy
regions: [europe-west4]
acceleratorTypes: [NVIDIA_L4, NVIDIA_TESLA_T4]
maxGpusPerRun: 4
maxFiresPerHour: 4
allowPrune: false
allowDestroy: false
`;

function mlform(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = runCli(args, { env });
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** The quickstart with 1-epoch data and its own state folder: plans only, nothing trains. */
async function quickstart(name: string): Promise<string> {
  const dir = join(root, name);
  await cp('examples/quickstart', dir, { recursive: true, filter: (src) => !src.includes('.mlform') });
  await mkdir(join(dir, 'data'), { recursive: true });
  await cp('examples/data/cars.json', join(dir, 'data', 'cars.json'));
  await edit(join(dir, 'training.yaml'), (t) =>
    t.replace('file://../data/cars.json', 'file://data/cars.json'),
  );
  return dir;
}

async function edit(file: string, change: (text: string) => string): Promise<void> {
  await writeFile(file, change(await readFile(file, 'utf8')));
}

/** `file:line:col` of the first line holding `needle`, at its first character. */
async function position(file: string, needle: string, at = needle): Promise<string> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  const index = lines.findIndex((l) => l.includes(needle));
  return `${file}:${index + 1}:${lines[index].indexOf(at) + 1}`;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-policy-'));
  policyFile = join(root, 'operator', 'policy.yaml');
  await mkdir(join(root, 'operator'));
  await writeFile(policyFile, POLICY);
  project = await quickstart('project');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('a commit exceeding the operator policy', () => {
  it('the quickstart as it is fits the policy', () => {
    const plan = mlform(['plan', project, '--policy', policyFile]);
    expect(plan.stderr).toBe('');
    expect(plan.status).toBe(0);
  });

  it('8 GPUs: plan fails at the accelerator count, naming maxGpusPerRun and the policy file', async () => {
    const dir = await quickstart('gpus');
    const training = join(dir, 'training.yaml');
    await edit(training, (t) => `${t}  resources:\n    accelerator: { type: NVIDIA_L4, count: 8 }\n`);
    expect(mlform(['plan', dir]).status).toBe(0);

    const plan = mlform(['plan', dir, '--policy', policyFile]);
    expect(plan.status).toBe(1);
    expect(plan.stdout).not.toContain('Plan:');
    expect(plan.stderr).toContain(
      `${await position(training, 'count: 8', '8')} error [policy] policy: accelerator count 8 exceeds maxGpusPerRun 4 (policy ${policyFile})`,
    );
    // The environment variable is the same operator input as the flag.
    const viaEnv = mlform(['plan', dir], { MLFORM_POLICY: policyFile });
    expect(viaEnv.status).toBe(1);
    expect(viaEnv.stderr).toContain('exceeds maxGpusPerRun 4');
    // Reading is not refused: the tree that breaks the policy can still be inspected.
    const get = mlform(['get', '--file', dir, '--policy', policyFile]);
    expect(get.status).toBe(0);
    expect(get.stdout).toMatch(/TrainingRun\s+mpg-mlp\s+OutOfSync/);
  });

  it('tuning: 2 GPUs × 4 parallel trials counts as 8', async () => {
    const dir = await quickstart('tuning');
    const training = join(dir, 'training.yaml');
    await edit(
      training,
      (t) =>
        `${t}  resources:\n    accelerator: { type: NVIDIA_L4, count: 2 }\n  tuning:\n    trials: 8\n    parallel: 4\n    metric: val_loss\n    goal: minimize\n    space: { learningRate: { logUniform: [0.0001, 0.1] } }\n`,
    );
    const plan = mlform(['plan', dir, '--policy', policyFile]);
    expect(plan.status).toBe(1);
    expect(plan.stderr).toContain(
      `${await position(training, 'parallel: 4', '4')} error [policy] policy: 2 GPUs × 4 parallel trials = 8 GPUs exceeds maxGpusPerRun 4`,
    );
  });

  it('a region outside the allowed ones fails at gcp.region in mlform.yaml', async () => {
    const dir = await quickstart('region');
    const config = join(dir, 'mlform.yaml');
    await writeFile(
      config,
      [
        'stack: region',
        'provider: gcp',
        'gcp:',
        '  project: my-project',
        '  region: us-central1',
        '  trainingRegion: europe-west4',
        '  bucket: gs://my-bucket/mlform',
        '  trainerImage: trainer:1',
        '  servingImage: serving:1',
        '  serviceAccount: mlform@my-project.iam.gserviceaccount.com',
        '',
      ].join('\n'),
    );
    const plan = mlform(['plan', dir, '--policy', policyFile]);
    expect(plan.status).toBe(1);
    expect(plan.stderr).toContain(
      `${await position(config, 'region: us-central1', 'us-central1')} error [policy] policy: region "us-central1" is not one of the allowed regions "europe-west4" (policy ${policyFile})`,
    );
    expect(plan.stderr).not.toContain('trainingRegion');
  });

  it('a schedule every minute over a 4/hour cap fails at its cron', async () => {
    const dir = await quickstart('schedule');
    const schedule = join(dir, 'schedule.yaml');
    await edit(schedule, (t) => t.replace(`cron: '0 6 * * 1'`, `cron: '* * * * *'`));
    const plan = mlform(['plan', dir, '--policy', policyFile]);
    expect(plan.status).toBe(1);
    expect(plan.stderr).toContain(
      `${await position(schedule, 'cron:', `'`)} error [policy] policy: this schedule fires 60 times an hour, exceeding maxFiresPerHour 4`,
    );
    // `validate` checks the policy too when it is given.
    const validate = mlform(['validate', dir, '--policy', policyFile]);
    expect(validate.status).toBe(1);
    expect(validate.stdout).toContain('exceeding maxFiresPerHour 4');
    expect(mlform(['validate', dir]).status).toBe(0);

    // `every` is the same rule, pointed at what the manifest says (the loader made it a cron).
    await edit(schedule, (t) => t.replace(`cron: '* * * * *'`, 'every: { minutes: 15 }'));
    expect(mlform(['plan', dir, '--policy', policyFile]).status).toBe(0);
    await edit(schedule, (t) => t.replace('every: { minutes: 15 }', 'every: { minutes: 5 }'));
    const every = mlform(['plan', dir, '--policy', policyFile]);
    expect(every.status).toBe(1);
    expect(every.stderr).toContain(
      `${await position(schedule, 'every:')} error [policy] policy: this schedule fires 12 times an hour, exceeding maxFiresPerHour 4`,
    );
  });

  it('prune and destroy are refused when the policy forbids them; --no-prune plans', async () => {
    const dir = join(root, 'prune');
    await mkdir(dir);
    await writeFile(join(dir, 'mlform.yaml'), 'stack: prune\nprovider: local\nlocal: {stateDir: .mlform}\n');
    const model = 'apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: mpg\nspec: {}\n';
    await writeFile(join(dir, 'model.yaml'), model);
    const applied = mlform(['apply', '-y', dir, '--policy', policyFile]);
    expect(applied.status, applied.stderr).toBe(0);

    // The commit drops the manifest: without a policy the model would be deleted.
    await rm(join(dir, 'model.yaml'));
    expect(mlform(['plan', dir]).stdout).toContain('- RegisteredModel/mpg');
    const plan = mlform(['plan', dir, '--policy', policyFile]);
    expect(plan.status).toBe(1);
    expect(plan.stdout).not.toContain('- RegisteredModel/mpg');
    expect(plan.stdout).toContain(
      `policy: RegisteredModel/mpg would be deleted (no longer in the manifests; deletes its 0 versions), but prune is not allowed (allowPrune: false) (policy ${policyFile})`,
    );
    const apply = mlform(['apply', '-y', dir, '--policy', policyFile]);
    expect(apply.status).toBe(1);
    expect(mlform(['plan', dir, '--no-prune', '--policy', policyFile]).status).toBe(0);

    const destroy = mlform(['destroy', '-y', dir, '--policy', policyFile]);
    expect(destroy.status).toBe(1);
    expect(destroy.stdout).toContain('policy: destroy is not allowed (allowDestroy: false)');
    // Nothing was deleted: the model is still there to prune without the policy.
    expect(mlform(['plan', dir]).stdout).toContain('- RegisteredModel/mpg');
    const saved = join(root, 'prune.plan.json');
    expect(mlform(['plan', dir, '--out', saved]).status).toBe(0);
    // A plan saved without the policy is refused under it.
    const savedApply = mlform(['apply', saved, dir, '--policy', policyFile]);
    expect(savedApply.status).toBe(1);
    expect(savedApply.stderr).toContain('prune is not allowed (allowPrune: false)');
    expect(mlform(['destroy', '-y', dir]).status).toBe(0);
  });
});

describe('the policy file itself', () => {
  it('errors point at the policy file line:col, with a suggestion for a misspelt rule', async () => {
    const bad = join(root, 'operator', 'bad.yaml');
    await writeFile(bad, 'maxGpuPerRun: 4\nregions: europe-west4\nmaxFiresPerHour: -1\n');
    const plan = mlform(['plan', project, '--policy', bad]);
    expect(plan.status).toBe(1);
    expect(plan.stderr).toContain(`${bad}:1:1 error [policy-file] unknown policy rule "maxGpuPerRun"`);
    expect(plan.stderr).toContain('hint: did you mean "maxGpusPerRun"?');
    expect(plan.stderr).toContain(`${bad}:2:10 error [policy-file] policy regions: expected array`);
    expect(plan.stderr).toContain(`${bad}:3:18 error [policy-file] policy maxFiresPerHour: expected integer`);
  });

  it('JSON works as well as YAML; a missing file fails closed', async () => {
    const json = join(root, 'operator', 'policy.json');
    await writeFile(json, JSON.stringify({ maxGpusPerRun: 0 }));
    const dir = await quickstart('json');
    await edit(
      join(dir, 'training.yaml'),
      (t) => `${t}  resources:\n    accelerator: { type: NVIDIA_L4, count: 1 }\n`,
    );
    const plan = mlform(['plan', dir, '--policy', json]);
    expect(plan.status).toBe(1);
    expect(plan.stderr).toContain('accelerator count 1 exceeds maxGpusPerRun 0');
    const missing = mlform(['plan', project, '--policy', join(root, 'operator', 'absent.yaml')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('cannot read the policy');
  });

  it('a policy inside the manifest tree is refused: a commit would write its own bounds', async () => {
    const dir = await quickstart('in-tree');
    // JSON, so the loader does not read it as a manifest: the refusal is about where it is.
    await mkdir(join(dir, 'ops'));
    await writeFile(join(dir, 'ops', 'policy.json'), '{"maxGpusPerRun": 64}');
    const plan = mlform(['plan', dir, '--policy', join(dir, 'ops', 'policy.json')]);
    expect(plan.status).toBe(1);
    expect(plan.stderr).toContain('[policy-in-tree]');
  });
});
