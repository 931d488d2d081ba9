/**
 * The command handlers called in process with a fake context (no child process, no terminal):
 * exit codes and what they print. A RegisteredModel-only project on the local provider needs no
 * training, so apply converges at once; a second project declares a schedule it never applies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyCommand } from '../../../controller/cli/commands/apply.js';
import { cancelCommand } from '../../../controller/cli/commands/cancel.js';
import { describeCommand } from '../../../controller/cli/commands/describe.js';
import { getCommand } from '../../../controller/cli/commands/get.js';
import { logsCommand } from '../../../controller/cli/commands/logs.js';
import { planCommand } from '../../../controller/cli/commands/plan.js';
import { triggerCommand } from '../../../controller/cli/commands/trigger.js';
import { validateCommand } from '../../../controller/cli/commands/validate.js';
import { fakeContext } from './fake-context.js';

let root: string;
/** mlform.yaml and model.yaml (RegisteredModel mpg) only. */
let models: string;
/** The quickstart's training, model and schedule, never applied. */
let scheduled: string;

const MODEL = `apiVersion: mlform/v1
kind: RegisteredModel
metadata:
  name: mpg
spec:
  description: handler test model
  gate: { metric: val_mae, max: 4.0 }
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-handlers-'));
  models = join(root, 'models');
  await cp('examples/quickstart/mlform.yaml', join(models, 'mlform.yaml'));
  await writeFile(join(models, 'model.yaml'), MODEL);
  scheduled = join(root, 'quickstart');
  for (const file of ['mlform.yaml', 'training.yaml', 'model.yaml', 'schedule.yaml'])
    await cp(join('examples/quickstart', file), join(scheduled, file));
  await cp('examples/data/cars.json', join(root, 'data', 'cars.json'));
  // A repository root (found by its .git entry), as in a clone: the quickstart's ../data is inside it.
  await mkdir(join(root, '.git'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

/** The options commander would give each command with no flags but these. */
const operator = { allowDataRoot: undefined, stateDir: undefined, policy: undefined };

describe('validate', () => {
  it('exits 0 and lists the resources of a valid project', async () => {
    const { ctx, stdout, stderr } = fakeContext();
    expect(await validateCommand.handler([[models]], { ...operator, output: 'text' }, ctx)).toBe(0);
    expect(stdout()).toMatch(/RegisteredModel\/mpg +[0-9a-f]{12} +.*model\.yaml:1/);
    expect(stdout()).toContain('✓ 1 resource in 1 file valid (stack quickstart, provider local)');
    expect(stderr()).toBe('');
  });

  it('exits 1 with the error at its line, as JSON too', async () => {
    const broken = join(root, 'broken');
    await cp(join(models, 'mlform.yaml'), join(broken, 'mlform.yaml'));
    await writeFile(join(broken, 'model.yaml'), MODEL.replace('max: 4.0', 'max: four'));
    const text = fakeContext();
    expect(await validateCommand.handler([[broken]], { ...operator, output: 'text' }, text.ctx)).toBe(1);
    expect(text.stdout()).toMatch(/model\.yaml:7:\d+/);
    expect(text.stdout()).toMatch(/1 error/);

    const json = fakeContext();
    expect(await validateCommand.handler([[broken]], { ...operator, output: 'json' }, json.ctx)).toBe(1);
    const report = JSON.parse(json.stdout()) as { valid: boolean; errorCount: number; resources: unknown[] };
    expect(report).toMatchObject({ valid: false, errorCount: 1 });
  });
});

// In order: each test starts from the state the one before left (nothing applied, then applied).
describe('plan, apply, get and describe on a RegisteredModel-only project', () => {
  const planOptions = { ...operator, output: 'text' as const, prune: true };
  const applyOptions = { ...operator, wait: true, parallelism: '10', prune: true };

  it('plan shows the model to create; --detailed-exitcode makes that 2', async () => {
    const { ctx, stdout } = fakeContext();
    expect(await planCommand.handler([[models]], planOptions, ctx)).toBe(0);
    expect(stdout()).toMatch(/^\s*\+ RegisteredModel\/mpg/m);
    expect(stdout()).toContain('Plan: 1 to add, 0 to change, 0 to destroy.');
    const detailed = fakeContext();
    expect(
      await planCommand.handler([[models]], { ...planOptions, detailedExitcode: true }, detailed.ctx),
    ).toBe(2);
  });

  it('apply without a terminal and without --auto-approve refuses, and changes nothing', async () => {
    const { ctx, stdout, stderr, questions } = fakeContext();
    expect(await applyCommand.handler([[models]], applyOptions, ctx)).toBe(1);
    expect(stdout()).toMatch(/\+ RegisteredModel\/mpg/);
    expect(stderr()).toContain('not a terminal: cannot ask for confirmation');
    expect(stderr()).toContain('pass --auto-approve (-y)');
    expect(questions).toEqual([]);
    const after = fakeContext();
    expect(await planCommand.handler([[models]], { ...planOptions, detailedExitcode: true }, after.ctx)).toBe(
      2,
    );
  });

  it('apply at a terminal asks through the context; anything but yes cancels', async () => {
    const { ctx, stdout, questions } = fakeContext({ interactive: true, answers: ['no'] });
    // --json keeps the live (Ink) view out; the question is asked all the same.
    expect(await applyCommand.handler([[models]], { ...applyOptions, json: true }, ctx)).toBe(1);
    expect(questions).toEqual(["\nDo you want to perform these actions? Only 'yes' will be accepted: "]);
    expect(stdout()).toContain('Apply cancelled.');
  });

  it('apply --auto-approve creates the model; plan and apply afterwards have nothing to do', async () => {
    const { ctx, stdout, stderr } = fakeContext();
    expect(
      await applyCommand.handler([[models]], { ...applyOptions, autoApprove: true }, ctx),
      stderr(),
    ).toBe(0);
    expect(stdout()).toMatch(/^RegisteredModel\/mpg: create complete$/m);
    expect(stdout()).toContain('Apply complete: 1 change applied.');
    const plan = fakeContext();
    expect(await planCommand.handler([[models]], { ...planOptions, detailedExitcode: true }, plan.ctx)).toBe(
      0,
    );
    expect(plan.stdout()).toContain('No changes: the actual state matches the manifests');
    // Nothing to approve: no --auto-approve needed, and nothing applied.
    const again = fakeContext();
    expect(await applyCommand.handler([[models]], applyOptions, again.ctx)).toBe(0);
    expect(again.stdout()).toContain('No changes: the actual state matches the manifests');
    expect(again.stdout()).not.toContain('Apply complete');
  });

  it('get lists the applied model Synced; an unknown name exits 1 with the closest one', async () => {
    const getOptions = { ...operator, file: [models], output: 'table' as const };
    const table = fakeContext();
    expect(await getCommand.handler([undefined], getOptions, table.ctx)).toBe(0);
    const lines = table.stdout().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KIND +NAME +SYNC +HEALTH +DETAILS/);
    expect(lines[1]).toMatch(/^RegisteredModel +mpg +Synced +/);
    expect(lines).toHaveLength(2);

    const json = fakeContext();
    expect(await getCommand.handler(['registeredmodels'], { ...getOptions, output: 'json' }, json.ctx)).toBe(
      0,
    );
    const doc = JSON.parse(json.stdout()) as {
      stack: string;
      resources: { address: string; sync: string }[];
    };
    expect(doc.stack).toBe('quickstart');
    expect(doc.resources.map((r) => [r.address, r.sync])).toEqual([['RegisteredModel/mpg', 'Synced']]);

    const unknown = fakeContext();
    expect(await getCommand.handler(['registeredmodel/mgp'], getOptions, unknown.ctx)).toBe(1);
    expect(unknown.stderr()).toContain(
      'RegisteredModel "mgp" is neither in the manifests nor in the actual state',
    );
    expect(unknown.stderr()).toContain('did you mean "registeredmodel/mpg"?');
    expect(unknown.stdout()).toBe('');
  });

  it('describe shows the applied model as JSON; a missing name exits 1', async () => {
    const options = { ...operator, file: [models], output: 'json' as const };
    const { ctx, stdout } = fakeContext();
    expect(await describeCommand.handler(['registeredmodel/mpg'], options, ctx)).toBe(0);
    expect(JSON.parse(stdout())).toMatchObject({
      formatVersion: 1,
      status: { address: 'RegisteredModel/mpg', sync: 'Synced' },
      spec: { description: 'handler test model' },
    });
    const missing = fakeContext();
    expect(await describeCommand.handler(['registeredmodel'], options, missing.ctx)).toBe(1);
    expect(missing.stderr()).toContain('"registeredmodel" names no resource');
  });
});

describe('logs', () => {
  it('logs refuses a bad run number before opening anything, and a TrainingRun with no runs', async () => {
    const options = { ...operator, file: [scheduled] };
    const bad = fakeContext();
    expect(await logsCommand.handler(['trainingrun/mpg-mlp', '2x'], options, bad.ctx)).toBe(1);
    expect(bad.stderr()).toContain('"2x" is not a run number');
    const none = fakeContext();
    expect(await logsCommand.handler(['trainingrun/mpg-mlp', '#1'], options, none.ctx)).toBe(1);
    expect(none.stderr()).toContain('TrainingRun "mpg-mlp" has no runs');
    expect(none.stdout()).toBe('');
  });
});

describe('cancel and trigger', () => {
  it('cancel with nothing running exits 1 with the hint', async () => {
    const { ctx, stdout, stderr } = fakeContext();
    expect(await cancelCommand.handler(['trainingrun/mpg-mlp'], { ...operator, file: [models] }, ctx)).toBe(
      1,
    );
    expect(stderr()).toContain('nothing to cancel: no run of TrainingRun "mpg-mlp" is queued or running');
    expect(stderr()).toContain('it has no runs; check the name with `mlform get trainingruns`');
    expect(stdout()).toBe('');
  });

  it('cancel refuses another kind before opening the project', async () => {
    const { ctx, stderr } = fakeContext();
    expect(
      await cancelCommand.handler(['schedule/x'], { ...operator, file: [join(root, 'nowhere')] }, ctx),
    ).toBe(1);
    expect(stderr()).toContain('only TrainingRuns can be cancelled, not Schedule');
  });

  it('trigger of an unknown schedule exits 1 with the suggestion; a declared one says apply first', async () => {
    const options = { ...operator, file: [scheduled] };
    const typo = fakeContext();
    expect(await triggerCommand.handler(['schedule/mpg-weekyl'], options, typo.ctx)).toBe(1);
    expect(typo.stderr()).toContain('Schedule "mpg-weekyl" does not exist');
    expect(typo.stderr()).toContain('did you mean "schedule/mpg-weekly"?');

    const declared = fakeContext();
    expect(await triggerCommand.handler(['schedule/mpg-weekly'], options, declared.ctx)).toBe(1);
    expect(declared.stderr()).toContain('Schedule "mpg-weekly" is in the manifests but not applied yet');
    expect(declared.stdout()).toBe('');
  });
});
