/**
 * The change -> provider command mapping (apply-commands.ts) and its executor (apply-executor.ts).
 * Changes start from a real plan of the fixtures and are checked against the plan schema, so each
 * is one the planner could produce; the expected requests are written out from the payloads.
 */
import AjvModule from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHANGE_PAIRS, commandFor, type ProviderCall } from '../../controller/engine/apply-commands.js';
import { executeChange, type ExecutorEnv } from '../../controller/engine/apply-executor.js';
import { ChangeSchema, type Change, type ChangeOf } from '../../controller/engine/change.js';
import { plan } from '../../controller/engine/plan.js';
import type { DesiredState } from '../../manifests/load.js';
import type { ObservedModel, ObservedState, Provider, Response } from '../../providers/provider.js';
import { NOW, converged, empty, loadTrees, run, version } from './helpers.js';

let desired: DesiredState;
let changes: Record<string, Change>;

type Of<A extends Change['action'], K extends Change['kind']> = Extract<ChangeOf<A>, { kind: K }>;
const pick = <A extends Change['action'], K extends Change['kind']>(p: Change[], action: A, kind: K) => {
  const found = p.find((c): c is Of<A, K> => c.action === action && c.kind === kind);
  if (!found) throw new Error(`the fixture plan has no ${action} ${kind}`);
  return found;
};
const base = { reason: '', fields: [], dependsOn: [] };
const activeRun = {
  name: 'mpg-mlp',
  number: 1,
  specHash: 'old',
  attempt: 1,
  state: 'running',
  schedule: null,
} as const;

beforeAll(async () => {
  desired = await loadTrees('core', 'runs', 'schedule');
  const fresh = plan(desired, empty(), { now: NOW }).changes;
  const createRun = pick(fresh, 'create', 'TrainingRun');
  const createModel = pick(fresh, 'create', 'RegisteredModel');
  const createEndpoint = pick(fresh, 'create', 'DeployedEndpoint');
  const createSchedule = pick(fresh, 'create', 'Schedule');
  const model = { ...base, kind: 'RegisteredModel', resource: 'RegisteredModel/mpg' } as const;
  const list: Change[] = [
    createRun,
    createModel,
    createEndpoint,
    createSchedule,
    {
      ...createModel,
      action: 'update',
      before: { specHash: 'old', spec: createModel.after.spec, annotations: {} },
    },
    {
      ...createEndpoint,
      action: 'update',
      before: {
        specHash: 'old',
        spec: createEndpoint.after.spec,
        traffic: [],
        healthy: true,
        healthDetail: null,
      },
      after: {
        ...createEndpoint.after,
        traffic: [
          { selector: 'champion', percent: 90, version: 2, artifactUri: '/state/runs/mpg-mlp/2' },
          { selector: 'latest', percent: 10, version: null, artifactUri: null },
        ],
      },
    },
    {
      ...createSchedule,
      action: 'update',
      before: { specHash: 'old', spec: createSchedule.after.spec, paused: true },
    },
    {
      ...createRun,
      action: 'replace',
      before: { cancel: [activeRun] },
      after: { ...createRun.after, number: 2 },
    },
    {
      ...model,
      action: 'delete',
      target: 'model',
      address: 'RegisteredModel/mpg',
      before: { name: 'mpg', specHash: 'h', versions: [1] },
      after: null,
    },
    {
      ...model,
      action: 'delete',
      target: 'version',
      address: 'RegisteredModel/mpg/versions/v1',
      before: { model: 'mpg', version: 1, run: { name: 'mpg-mlp', number: 1 } },
      after: null,
    },
    {
      ...base,
      action: 'delete',
      kind: 'DeployedEndpoint',
      address: 'DeployedEndpoint/mpg-api',
      resource: 'DeployedEndpoint/mpg-api',
      before: { name: 'mpg-api', specHash: 'h', model: 'mpg' },
      after: null,
    },
    {
      ...base,
      action: 'delete',
      kind: 'Schedule',
      address: 'Schedule/mpg-weekly',
      resource: 'Schedule/mpg-weekly',
      before: { name: 'mpg-weekly', specHash: 'h' },
      after: null,
    },
    {
      ...base,
      action: 'cancel',
      kind: 'TrainingRun',
      address: 'TrainingRun/mpg-mlp#1',
      resource: 'TrainingRun/mpg-mlp',
      before: activeRun,
      after: null,
    },
    {
      ...model,
      action: 'register',
      address: 'RegisteredModel/mpg/versions/mpg-mlp#3',
      before: null,
      after: {
        model: 'mpg',
        run: { name: 'mpg-mlp', number: 3 },
        deferred: false,
        version: 1,
        specHash: 'h',
        artifactUri: '/state/runs/mpg-mlp/3',
        metrics: {},
        baseline: {},
        gate: '',
      },
    },
    {
      ...model,
      action: 'promote',
      address: 'RegisteredModel/mpg/aliases/champion',
      before: { model: 'mpg', alias: 'champion', version: null },
      after: { model: 'mpg', alias: 'champion', rule: { policy: 'best' }, deferred: false, version: 1 },
    },
    {
      ...base,
      action: 'wait',
      kind: 'TrainingRun',
      address: 'TrainingRun/mpg-mlp#1',
      resource: 'TrainingRun/mpg-mlp',
      before: null,
      after: null,
      run: activeRun,
      progress: null,
    },
    {
      ...base,
      action: 'wait',
      kind: 'DeployedEndpoint',
      address: 'DeployedEndpoint/mpg-api',
      resource: 'DeployedEndpoint/mpg-api',
      before: null,
      after: null,
      model: 'mpg',
      unresolved: ['champion'],
    },
    {
      ...base,
      action: 'fire',
      kind: 'Schedule',
      address: 'Schedule/mpg-weekly/fire',
      resource: 'Schedule/mpg-weekly',
      before: null,
      after: { name: 'mpg-weekly', trigger: 0, endpoint: 'mpg-api', signal: 'drift on ...', replaces: [] },
    },
    ...(['RegisteredModel', 'DeployedEndpoint', 'Schedule'] as const).map((kind): Change => ({
      ...base,
      action: 'adopt',
      kind,
      address: `${kind}/x/adopt`,
      resource: `${kind}/x`,
      before: { id: `projects/p/locations/l/objects/x` },
      after: {
        name: 'x',
        id: `projects/p/locations/l/objects/x`,
        specHash: 'h',
        spec: { aliases: {}, retention: { keepVersions: 20 } },
        labels: {},
        annotations: {},
      },
    })),
    ...(['TrainingRun', 'RegisteredModel', 'DeployedEndpoint', 'Schedule'] as const).map((kind): Change => ({
      ...base,
      action: 'noop',
      kind,
      address: `${kind}/x`,
      resource: `${kind}/x`,
      before: null,
      after: null,
      notice: false,
    })),
  ];
  // As plan-file.ts validates a saved plan: each change here is one a plan file may hold.
  const valid = new AjvModule.default({ allErrors: true, strict: false }).compile(
    JSON.parse(JSON.stringify(ChangeSchema)),
  );
  for (const c of list) expect(valid(c) ? [] : valid.errors, `${c.action} ${c.address}`).toEqual([]);
  changes = Object.fromEntries(
    list.map((c) => [
      `${c.action} ${c.kind}${c.action === 'delete' && 'target' in c ? ` ${c.target}` : ''}`,
      c,
    ]),
  );
});

const observed: ObservedState = { ...empty(), runs: [run({ number: 3, specHash: 'h' })] };
const methods = (key: string) => commandFor(changes[key], observed).command?.calls.map((c) => c.method);

describe('commandFor: every change the plan format has maps to provider calls and a guard', () => {
  it('covers every action and kind pair of the plan schema', () => {
    const covered = new Set(Object.values(changes).map((c) => `${c.action} ${c.kind}`));
    expect([...CHANGE_PAIRS].sort()).toEqual([...covered].sort());
    // 4 creates, 3 updates, replace, 3 deletes (a model and its version are one pair), cancel,
    // register, promote, 2 waits, fire, noop of 4 kinds, adopt of 3 kinds.
    expect(CHANGE_PAIRS.size).toBe(24);
  });

  // change | guard rule | provider methods, in call order
  const table = `
    create TrainingRun: declared -> trainingRuns.create
    create RegisteredModel: declared -> registeredModels.put
    update RegisteredModel: declared -> registeredModels.put
    create DeployedEndpoint: declared -> deployedEndpoints.put
    update DeployedEndpoint: declared -> deployedEndpoints.put
    create Schedule: declared -> schedules.put
    update Schedule: declared -> schedules.put
    replace TrainingRun: declared -> trainingRuns.cancel trainingRuns.create
    delete RegisteredModel model: delete -> registeredModels.delete
    delete RegisteredModel version: delete -> registeredModels.deleteVersion
    delete DeployedEndpoint: delete -> deployedEndpoints.delete
    delete Schedule: delete -> schedules.delete
    cancel TrainingRun: cancel -> trainingRuns.cancel
    register RegisteredModel: register -> registeredModels.registerVersion
    promote RegisteredModel: promote -> registeredModels.moveAlias
    fire Schedule: fire -> schedules.trigger
    adopt RegisteredModel: adopt -> adopt
    adopt DeployedEndpoint: adopt -> adopt
    adopt Schedule: adopt -> adopt`;
  const rows = table
    .trim()
    .split('\n')
    .map((line) => /^\s*(.+): (\S+) -> (.+)$/.exec(line)?.slice(1) ?? [line]);
  it.each(rows.map(([key, rule, calls]) => [key, rule, calls?.split(' ')]))(
    '%s: the %s guard, then %j',
    (key, rule, expected) => {
      const { command, diagnostics } = commandFor(changes[key], observed);
      expect(diagnostics).toEqual([]);
      expect(command?.guard).toEqual({ rule, change: changes[key] });
      expect(methods(key)).toEqual(expected);
    },
  );

  it('create and update of a kind send the same request shape (one entry)', () => {
    const create = changes['create Schedule'] as Of<'create', 'Schedule'>;
    const update = changes['update Schedule'] as Of<'update', 'Schedule'>;
    expect(commandFor(update, observed).command?.calls).toEqual(commandFor(create, observed).command?.calls);
    expect(commandFor(create, observed).command?.calls).toEqual([
      {
        method: 'schedules.put',
        request: {
          name: 'mpg-weekly',
          spec: create.after.spec,
          specHash: create.after.specHash,
          template: {
            spec: create.after.template.spec,
            specHash: create.after.template.specHash,
            manifestPath: create.after.template.manifestPath,
          },
          labels: create.after.labels,
          annotations: create.after.annotations,
        },
      },
    ]);
  });

  it('requests carry the payload: runs without a schedule, traffic only where its version is known', () => {
    const replace = changes['replace TrainingRun'] as Of<'replace', 'TrainingRun'>;
    expect(commandFor(replace, observed).command?.calls).toEqual([
      { method: 'trainingRuns.cancel', request: { name: 'mpg-mlp', number: 1 } },
      { method: 'trainingRuns.create', request: { ...replace.after, number: 2, schedule: undefined } },
    ]);
    const [put] = commandFor(changes['update DeployedEndpoint'], observed).command?.calls ?? [];
    expect(put).toMatchObject({
      method: 'deployedEndpoints.put',
      request: {
        name: 'mpg-api',
        traffic: [{ version: 2, percent: 90, artifactUri: '/state/runs/mpg-mlp/2' }],
      },
    });
    const [register] = commandFor(changes['register RegisteredModel'], observed).command?.calls ?? [];
    // The run as the provider listed it, not the plan's reference to it.
    expect(register).toEqual({
      method: 'registeredModels.registerVersion',
      request: { model: 'mpg', run: observed.runs[0] },
    });
    expect(methods('delete RegisteredModel version')).toEqual(['registeredModels.deleteVersion']);
    expect(commandFor(changes['delete RegisteredModel version'], observed).command?.calls[0].request).toEqual(
      {
        model: 'mpg',
        version: 1,
      },
    );
  });

  it('noop and wait have nothing to call', () => {
    for (const key of Object.keys(changes).filter((k) => /^(noop|wait) /.test(k)))
      expect(commandFor(changes[key], observed), key).toEqual({ command: null, diagnostics: [] });
  });

  it('an unknown pair, a deferred change or a vanished run is an error diagnostic, not a throw', () => {
    const bogus = {
      ...changes['create RegisteredModel'],
      action: 'update',
      kind: 'TrainingRun',
    } as unknown as Change;
    const unknown = commandFor(bogus, observed);
    expect(unknown.command).toBeNull();
    expect(unknown.diagnostics).toMatchObject([
      { severity: 'error', code: 'no-command', address: 'RegisteredModel/mpg' },
    ]);
    const made = { ...changes['create RegisteredModel'], action: 'frobnicate' } as unknown as Change;
    expect(commandFor(made, observed).diagnostics.map((d) => d.code)).toEqual(['no-command']);

    const register = changes['register RegisteredModel'] as Of<'register', 'RegisteredModel'>;
    const deferred: Change = {
      ...register,
      after: { model: 'mpg', run: register.after.run, deferred: true, version: null },
    };
    expect(commandFor(deferred, observed)).toMatchObject({
      command: null,
      diagnostics: [{ severity: 'error', code: 'deferred-change' }],
    });
    const gone = commandFor(register, empty());
    expect(gone.command?.calls).toEqual([]);
    expect(gone.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ['run-missing', 'run mpg-mlp#3 is no longer there'],
    ]);
  });
});

/** Records each call and answers from `answers` (by method), `{diagnostics: []}` otherwise. */
function recordingProvider(
  answers: Partial<Record<ProviderCall['method'], Response>> = {},
  registry: ObservedModel[] = [],
) {
  const calls: string[] = [];
  const group = (name: string) =>
    new Proxy(
      {},
      {
        get: (_, verb: string) => async () => {
          const method = `${name}.${verb}` as ProviderCall['method'];
          calls.push(method);
          if (verb === 'list') return { items: name === 'registeredModels' ? registry : [], diagnostics: [] };
          return answers[method] ?? { diagnostics: [] };
        },
      },
    );
  const provider = {
    name: 'local',
    trainingRuns: group('trainingRuns'),
    registeredModels: group('registeredModels'),
    deployedEndpoints: group('deployedEndpoints'),
    schedules: group('schedules'),
  } as unknown as Provider;
  return { provider, calls };
}

describe('executeChange: guard, calls in order, outcome', () => {
  const env = (provider: Provider, state: ObservedState): ExecutorEnv => ({
    provider,
    ctx: { stack: 'test', projectDir: '/nonexistent' },
    desired,
    state,
    destroy: false,
  });
  const replaceState = () =>
    converged(desired, { runs: [run({ number: 1, specHash: 'old', state: 'running' })] });

  it('a replace cancels, then creates; a warning of the cancel is kept when the create fails', async () => {
    const warning = { severity: 'warning', code: 'left-alone', message: 'process not ours' } as const;
    const failure = { severity: 'error', code: 'quota', message: 'no quota' } as const;
    const { provider, calls } = recordingProvider({
      'trainingRuns.cancel': { diagnostics: [warning] },
      'trainingRuns.create': { diagnostics: [failure] },
    });
    const outcome = await executeChange(changes['replace TrainingRun'], env(provider, replaceState()));
    expect(calls).toEqual(['trainingRuns.cancel', 'trainingRuns.create']);
    expect(outcome).toEqual({ failed: true, diagnostics: [warning, failure] });
  });

  it('a failed call stops the calls after it', async () => {
    const failure = { severity: 'error', code: 'denied', message: 'denied' } as const;
    const { provider, calls } = recordingProvider({ 'trainingRuns.cancel': { diagnostics: [failure] } });
    const outcome = await executeChange(changes['replace TrainingRun'], env(provider, replaceState()));
    expect(calls).toEqual(['trainingRuns.cancel']);
    expect(outcome).toEqual({ failed: true, diagnostics: [failure] });
  });

  it('a refused change reaches no provider method', async () => {
    const { provider, calls } = recordingProvider();
    // The observed registry does not hold v1: the retention guard refuses the delete.
    const outcome = await executeChange(changes['delete RegisteredModel version'], env(provider, empty()));
    expect(calls).toEqual(['registeredModels.list']);
    expect(outcome.failed).toBe(true);
    expect(outcome.diagnostics.map((d) => d.code)).toEqual(['not-owned']);
  });

  it('a provider that throws fails the change with provider-error', async () => {
    const { provider } = recordingProvider();
    const throwing = {
      ...provider,
      registeredModels: {
        ...provider.registeredModels,
        put: () => Promise.reject(new Error('connection reset')),
      },
    } as Provider;
    const outcome = await executeChange(changes['create RegisteredModel'], env(throwing, empty()));
    expect(outcome).toEqual({
      failed: true,
      diagnostics: [
        expect.objectContaining({ code: 'provider-error', message: 'RegisteredModel/mpg: connection reset' }),
      ],
    });
  });

  it('a successful call is done, with its warnings', async () => {
    const warning = { severity: 'warning', code: 'slow', message: 'slow' } as const;
    const state = converged(desired, { versions: { mpg: [version(1, { runNumber: 3 })] } });
    const { provider, calls } = recordingProvider(
      { 'registeredModels.moveAlias': { diagnostics: [warning] } },
      state.models,
    );
    const outcome = await executeChange(changes['promote RegisteredModel'], env(provider, state));
    expect(calls).toEqual(['registeredModels.list', 'registeredModels.moveAlias']);
    expect(outcome).toEqual({ failed: false, diagnostics: [warning] });
  });
});
