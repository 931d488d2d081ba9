/**
 * Issue 13's acceptance for a serving container locally, through the CLI: two trained versions
 * served by a server of the user's own (`container.command`, the fixture script under
 * bubblewrap), one process per version behind mlform's server with a 50/50 split. Without the
 * operator's command policy the plan refuses at the manifest's line; with it the plan says what
 * mlform cannot check inside the container; destroy stops every process.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyQuickstart, runCli } from './cli.js';
import { describeWithSandbox } from '../sandbox-available.js';

let root: string;
let project: string;
const mlform = (...args: string[]) => runCli(args);
const ALLOW = 'MLFORM_ALLOW_COMMANDS';

const ENDPOINT = `apiVersion: mlform/v1
kind: DeployedEndpoint
metadata:
  name: mpg-api
spec:
  model: mpg
  traffic:
    - { version: 1, percent: 50 }
    - { version: 2, percent: 50 }
  container:
    command: [python3, serve.py]
    args: ['--port=$(PORT)']
    healthPath: /healthz
    predictPath: /predict
`;

/** A second TrainingRun of the same model (another seed), so one apply registers two versions. */
const trainingB = (text: string) =>
  text.replace('name: mpg-mlp', 'name: mpg-mlp-b').replace('seed: 42', 'seed: 7');

/** Pids of the fixture server running for this project. */
async function serverPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const cwd = await import('node:fs/promises').then((fs) =>
      fs.readlink(`/proc/${entry}/cwd`).catch(() => ''),
    );
    if (argv[0] === 'python3' && argv[1] === 'serve.py' && cwd === project) pids.push(Number(entry));
  }
  return pids;
}

beforeAll(async () => {
  ({ root, project } = await copyQuickstart('mlform-serving-command-', /(endpoint|schedule)\.yaml$/));
  await cp('test/fixtures/serving-command/server.py', join(project, 'serve.py'));
  // A few epochs and no gate: the test is about serving, not the model.
  const training = (await readFile(join(project, 'training.yaml'), 'utf8'))
    .replace(/epochs: \d+/, 'epochs: 5')
    .replace(/patience: \d+/, 'patience: 2');
  await writeFile(join(project, 'training.yaml'), training);
  await writeFile(join(project, 'training-b.yaml'), trainingB(training));
  const model = await readFile(join(project, 'model.yaml'), 'utf8');
  await writeFile(join(project, 'model.yaml'), model.replace(/ {2}gate:[\s\S]*?(?= {2}aliases:)/, ''));
  execFileSync('git', ['init', '-q', root]);
});

afterAll(async () => {
  process.env[ALLOW] = '1';
  mlform('destroy', '-y', project);
  delete process.env[ALLOW];
  await rm(root, { recursive: true, force: true });
});

describeWithSandbox('a serving command, locally, through the CLI', () => {
  it('refuses without the operator, serves two versions 50/50 with it, destroy stops all', async () => {
    const trained = mlform('apply', '-y', project);
    expect(trained.out).toContain('Apply complete');
    await writeFile(join(project, 'endpoint.yaml'), ENDPOINT);

    delete process.env[ALLOW];
    const refused = mlform('plan', project);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/endpoint\.yaml:11:\d+.*command-not-allowed/);
    expect(refused.out).toContain(`${ALLOW}=1`);

    process.env[ALLOW] = '1';
    try {
      const plan = mlform('plan', project);
      expect(plan.out).toContain(
        'custom container: readiness is checked at /healthz; inputs and outputs are not checked by mlform',
      );
      const applied = mlform('apply', '-y', project);
      expect(applied.out).toContain('Apply complete');
      expect(applied.code).toBe(0);
    } finally {
      delete process.env[ALLOW];
    }

    const record = JSON.parse(
      await readFile(join(project, '.mlform/endpoints/mpg-api/endpoint.json'), 'utf8'),
    ) as {
      url: string;
    };
    const versions: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${record.url}/v1/models/mpg:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"instances": [3]}',
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { predictions: number[]; version: string; artifact: string[] };
      expect(body.predictions).toEqual([3]);
      expect(body.version).toBe(res.headers.get('x-model-version'));
      // The server read its version's artifact (the builtin trainer's files).
      expect(body.artifact).toEqual(expect.arrayContaining(['metrics.json', 'model.json']));
      versions.push(body.version);
    }
    expect(versions.sort()).toEqual(['1', '1', '2', '2']);
    expect(await serverPids()).toHaveLength(2);

    process.env[ALLOW] = '1';
    const destroyed = mlform('destroy', '-y', project);
    delete process.env[ALLOW];
    expect(destroyed.code).toBe(0);
    expect(await serverPids()).toEqual([]);
  }, 240_000);
});
