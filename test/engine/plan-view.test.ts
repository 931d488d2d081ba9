import { describe, expect, it } from 'vitest';
import type { Plan } from '../../controller/engine/change.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { plan } from '../../controller/engine/plan.js';
import { planJsonView } from '../../controller/ui/plan-json.js';
import { createPlanTextView } from '../../controller/ui/plan-text.js';
import { createStyle } from '../../controller/ui/style.js';
import {
  NOW,
  converged,
  destroyWithProtectedModel,
  empty,
  hashOf,
  loadTrees,
  run,
  servingV1,
  specChangeWhileRunning,
  version,
} from './helpers.js';

const text = createPlanTextView({ style: createStyle(false) });

describe('the text view', () => {
  it('a fresh plan', async () => {
    const desired = await loadTrees('core', 'runs', 'schedule');
    expect(text.render(plan(desired, empty(), { now: NOW }))).toMatchInlineSnapshot(`
      "mlform will perform the following actions (stack demo):

        # new model: MPG regressor
        + RegisteredModel/mpg
            + spec.aliases: {"champion":{"policy":"best","metric":"val_mae","goal":"minimize"}}
            + spec.description: "MPG regressor"
            + spec.gate: {"metric":"val_mae","max":4,"beatBaseline":true}
            + spec.retention: {"keepVersions":3}

        # starts mpg-mlp#1
        + TrainingRun/mpg-mlp (mpg-mlp#1)
            + spec.model: "mpg"
            + spec.resources: {"machineType":"n1-standard-4","spot":false}
            + spec.retry: {"limit":2}
            + spec.tensorboard: {"histograms":true,"images":true,"stepInterval":50}
            + spec.trainer.builtin.data.features: ["Cylinders","Horsepower","Weight_in_lbs"]
            + spec.trainer.builtin.data.maxCategories: 64
            + spec.trainer.builtin.data.target: "Miles_per_Gallon"
            + spec.trainer.builtin.data.uri: "file://cars.json"
            + spec.trainer.builtin.data.validationSplit: 0.2
            + spec.trainer.builtin.hyperparameters: {"epochs":100,"learningRate":0.001,"batchSize":32,"optimizer":"adam"}
            + spec.trainer.builtin.network: {"type":"mlp","layers":[64,32],"activation":"relu","dropout":0}
            + spec.trainer.builtin.seed: 42
            + spec.trainer.builtin.task: "regression"

        # after training, if mpg-mlp#1 passes the gate
        + register mpg from mpg-mlp#1, version (known after training)

        # champion follows best val_mae (minimize): known after training
        ~ alias mpg/champion (none) -> (known after training)

        # serves RegisteredModel/mpg (traffic known after training)
        + DeployedEndpoint/mpg-api
            + spec.batching: {"enabled":true,"maxBatchSize":64,"batchTimeoutMicros":10000}
            + spec.model: "mpg"
            + spec.preset: "development"
            + spec.resources: {"memory":"2Gi","cpu":"1"}
            + spec.scaling: {"minInstances":0,"maxInstances":2}
            + spec.timeoutSeconds: 300
            + traffic: "champion (known after training) 100%"

        # next run 2026-11-23 06:00 Europe/Warsaw
        + Schedule/mpg-weekly
            + spec.concurrencyPolicy: "Forbid"
            + spec.cron: "0 6 * * 1"
            + spec.history: {"successful":5,"failed":3}
            + spec.startingDeadlineSeconds: 3600
            + spec.suspend: false
            + spec.timeZone: "Europe/Warsaw"
            + spec.trainingRun: "mpg-mlp"

      Plan: 4 to add, 0 to change, 0 to destroy, 1 to register, 1 to promote."
    `);
  });

  it('no changes', async () => {
    const { desired, observed } = await servingV1();
    expect(text.render(plan(desired, observed, { now: NOW }))).toMatchInlineSnapshot(
      `"No changes: the actual state matches the manifests."`,
    );
  });

  it('a hyperparameter change while the run is running', async () => {
    const { desired, observed } = await specChangeWhileRunning();
    expect(text.render(plan(desired, observed, { now: NOW }))).toMatchInlineSnapshot(`
      "mlform will perform the following actions (stack demo):

        # spec changed while mpg-mlp#2 is running: mpg-mlp#2 will be CANCELLED and replaced by mpg-mlp#3
      -/+ TrainingRun/mpg-mlp (mpg-mlp#2 -> mpg-mlp#3)

        # after training, if mpg-mlp#3 passes the gate
        + register mpg from mpg-mlp#3, version (known after training)

        # champion follows best val_mae (minimize): known after training
        ~ alias mpg/champion v1 -> (known after training)

        # traffic known after training
        ~ DeployedEndpoint/mpg-api
            ~ traffic: "champion (v1) 100%" -> "champion (known after training) 100%"

        # its template TrainingRun/mpg-mlp changed; next run 2026-11-23 06:00 Europe/Warsaw
        ~ Schedule/mpg-weekly

      Plan: 1 to add, 2 to change, 1 to destroy, 1 to register, 1 to promote."
    `);
  });

  it("a replace names each changed field of the replaced run's spec, forcing the replacement", async () => {
    const before = await loadTrees('core', 'runs', 'schedule');
    const desired = await loadTrees('core', 'runs-v2', 'schedule');
    const old = hashOf(before, 'TrainingRun/mpg-mlp');
    const previous = before.resources.find((r) => r.address === 'TrainingRun/mpg-mlp');
    if (previous?.kind !== 'TrainingRun') throw new Error('no TrainingRun/mpg-mlp in the fixture');
    const spec = previous.manifest.spec as TrainingRunSpec;
    const observed = converged(before, {
      // #2 failed with another spec: never the TrainingRun's training, so not the diff's base.
      runs: [
        run({ number: 1, specHash: old, spec }),
        run({ number: 2, specHash: 'other', state: 'failed', spec: { ...spec, retry: { limit: 9 } } }),
      ],
      versions: { mpg: [version(1, { specHash: old })] },
      aliases: { mpg: { champion: 1 } },
      traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
    });
    const p = plan(desired, observed, { now: NOW });
    expect(p.changes.find((c) => c.address === 'TrainingRun/mpg-mlp')?.fields).toEqual([
      {
        path: 'spec.trainer.builtin.hyperparameters.learningRate',
        before: 0.001,
        after: 0.003,
        replace: true,
      },
    ]);
    expect(text.render(p).split('\n').slice(0, 5).join('\n')).toMatchInlineSnapshot(`
      "mlform will perform the following actions (stack demo):

        # spec changed: mpg-mlp#3 replaces mpg-mlp#2 (which stays as history)
      -/+ TrainingRun/mpg-mlp (mpg-mlp#3)
            ~ spec.trainer.builtin.hyperparameters.learningRate: 0.001 -> 0.003 # forces replacement"
    `);

    // Replacing a running run diffs against that run.
    observed.runs.push(
      run({ number: 3, specHash: old, state: 'running', spec: { ...spec, retry: { limit: 1 } } }),
    );
    const cancelling = plan(desired, observed, { now: NOW }).changes.find(
      (c) => c.address === 'TrainingRun/mpg-mlp',
    );
    expect(cancelling?.action).toBe('replace');
    expect(cancelling?.fields.map((f) => [f.path, f.before, f.after, f.replace])).toEqual([
      ['spec.retry.limit', 1, 2, true],
      ['spec.trainer.builtin.hyperparameters.learningRate', 0.001, 0.003, true],
    ]);
  });

  it('registration, gate rejection, drift, retention, prune and a refused delete', async () => {
    const { desired, observed, h } = await servingV1(['core', 'runs']);
    observed.runs.push(
      run({ number: 5, specHash: h, metrics: { val_mae: 2.5 } }),
      run({ number: 6, specHash: h, metrics: { val_mae: 4.31 } }),
    );
    // keepVersions is 3: once v4 is registered, v1 (no alias, no traffic) goes.
    observed.models[0].versions = [
      version(1, { specHash: h, val_mae: 3.7 }),
      version(2, { val_mae: 3.0 }),
      version(3, { val_mae: 3.5 }),
    ];
    observed.models[0].aliases = { champion: 2 };
    observed.endpoints[0].traffic = [{ version: 2, percent: 100 }];
    observed.endpoints[0].live = {
      ...observed.endpoints[0].live,
      scaling: { minInstances: 0, maxInstances: 5 },
    };
    observed.endpoints[0].healthy = false;
    observed.endpoints[0].healthDetail = 'process not running';
    observed.models.push({
      name: 'legacy',
      specHash: 'l',
      spec: { aliases: {}, retention: { keepVersions: 20 } },
      annotations: { 'mlform/prevent-destroy': 'true' },
      versions: [],
      aliases: {},
    });
    observed.schedules.push({
      name: 'nightly',
      specHash: 's',
      spec: {
        trainingRun: 'mpg-mlp',
        cron: '0 0 * * *',
        timeZone: 'UTC',
        suspend: false,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 3600,
        history: { successful: 5, failed: 3 },
      },
      annotations: {},
      paused: false,
    });
    expect(text.render(plan(desired, observed, { now: NOW }))).toMatchInlineSnapshot(`
      "mlform will perform the following actions (stack demo):

        # mpg-mlp#5 passed the gate (val_mae 2.5 <= 4, beats the baseline 6)
        + register mpg v4 from mpg-mlp#5

        # RegisteredModel/mpg: mpg-mlp#6 failed the gate: val_mae 4.31 > 4

        # champion follows best val_mae (minimize)
        ~ alias mpg/champion v2 -> v4

        # not healthy: process not running; scaling.maxInstances changed outside mlform; traffic moves to other versions
        ~ DeployedEndpoint/mpg-api (drift)
            ~ scaling.maxInstances: 5 -> 2 (drift)
            ~ traffic: "champion (v2) 100%" -> "champion (v4) 100%"
            ~ healthy: false -> true (drift)

        # beyond retention.keepVersions (3) and used by no alias or endpoint
        - version mpg v1 (from mpg-mlp#1)

        # no longer in the manifests
        - Schedule/nightly
            - spec.concurrencyPolicy: "Forbid"
            - spec.cron: "0 0 * * *"
            - spec.history: {"successful":5,"failed":3}
            - spec.startingDeadlineSeconds: 3600
            - spec.suspend: false
            - spec.timeZone: "UTC"
            - spec.trainingRun: "mpg-mlp"

      mlform error [prevent-destroy] RegisteredModel/legacy has mlform/prevent-destroy: remove the annotation (and apply) before deleting it

      Plan: 0 to add, 1 to change, 2 to destroy, 1 to register, 1 to promote.
      Error: the plan has 1 error; apply will refuse it."
    `);
  });

  it('destroy, with a protected model pointed at in its manifest', async () => {
    const { desired, observed } = await destroyWithProtectedModel();
    expect(text.render(plan(desired, observed, { now: NOW, destroy: true }))).toMatchInlineSnapshot(`
      "mlform will perform the following actions (stack demo):

        # destroy
        - DeployedEndpoint/mpg-api
            - spec.batching: {"enabled":true,"maxBatchSize":64,"batchTimeoutMicros":10000}
            - spec.model: "mpg"
            - spec.preset: "development"
            - spec.resources: {"memory":"2Gi","cpu":"1"}
            - spec.scaling: {"minInstances":0,"maxInstances":2}
            - spec.timeoutSeconds: 300
            - spec.traffic: [{"version":"champion","percent":100}]

        # destroy
        - cancel TrainingRun/mpg-mlp#1 (running)

      test/engine/fixtures/protected/model.yaml:5:42 error [prevent-destroy] RegisteredModel/mpg has mlform/prevent-destroy: remove the annotation (and apply) before deleting it
        4 |   name: mpg
      > 5 |   annotations: { mlform/prevent-destroy: 'true' }
          |                                          ^^^^^^
        at metadata.annotations["mlform/prevent-destroy"] (RegisteredModel/mpg)

      Plan: 0 to add, 0 to change, 1 to destroy, 1 to cancel.
      Error: the plan has 1 error; apply will refuse it."
    `);
  });

  it('colours only when the style says so', async () => {
    const desired = await loadTrees('core', 'runs');
    const p = plan(desired, empty(), { now: NOW });
    const coloured = createPlanTextView({ style: createStyle(true) }).render(p);
    expect(coloured).toContain('\u001b[32m  +\u001b[39m TrainingRun/mpg-mlp');
    expect(text.render(p)).not.toContain('\u001b[');
  });
});

describe('the JSON view', () => {
  it('is a versioned document with the documented fields', async () => {
    const { desired, observed } = await servingV1();
    observed.endpoints[0].healthy = false;
    const p: Plan = plan(desired, observed, { now: NOW, prune: false });
    const doc = JSON.parse(planJsonView.render(p)) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual([
      'formatVersion',
      'stack',
      'options',
      'hasChanges',
      'applicable',
      'summary',
      'changes',
      'diagnostics',
      'fingerprint',
      'basis',
    ]);
    expect(doc).toMatchObject({
      formatVersion: 1,
      stack: 'demo',
      options: { destroy: false, prune: false },
      hasChanges: true,
      applicable: true,
      summary: { update: 1, noop: 3 },
    });
    expect(planJsonView.format).toBe('json');
    expect((doc.changes as { address: string; drift?: boolean }[]).find((c) => c.drift)?.address).toBe(
      'DeployedEndpoint/mpg-api',
    );
  });

  it('prints diagnostics as validate --json does', async () => {
    const desired = await loadTrees('canary');
    const doc = JSON.parse(planJsonView.render(plan(desired, empty(), { now: NOW }))) as {
      applicable: boolean;
      diagnostics: unknown[];
    };
    expect(doc.applicable).toBe(false);
    expect(doc.diagnostics[0]).toMatchObject({
      severity: 'error',
      code: 'alias-version',
      path: 'spec.aliases.stable.version',
      pathSegments: ['spec', 'aliases', 'stable', 'version'],
    });
  });
});
