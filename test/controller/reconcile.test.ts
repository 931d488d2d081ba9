/**
 * `reconcile`, one desired state at a time, against the real local provider (models only; runs go
 * to an in-memory training backend so nothing trains): what it did and when it asks to be run
 * again. Progressing → `progressMs`; idle → `resyncMs`; a failed resource's backoff expiring
 * first → that, sooner; and a converged stack costs one round of list calls and nothing else.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProject } from '../../controller/cli/project.js';
import { ResourceBackoff } from '../../controller/loop/backoff.js';
import { countingProvider } from '../../controller/loop/counting-provider.js';
import type { ProjectContext } from '../../controller/loop/loop-options.js';
import { reconcile, type ReconcileRequest } from '../../controller/loop/reconcile.js';
import { error } from '../../resources/diagnostic.js';
import type { ObservedRun, Provider } from '../../providers/provider.js';
import { modelsProject } from './helpers.js';

const PROGRESS_MS = 10_000;
const RESYNC_MS = 60_000;
const BACKOFF_BASE_MS = 2_000;

let dir: string;

const training = `apiVersion: mlform/v1
kind: TrainingRun
metadata:
  name: fit
spec:
  trainer:
    builtin:
      task: regression
      data: { uri: file://data.csv, target: y, features: [x] }
      hyperparameters: { epochs: 1 }
`;

beforeEach(async () => {
  dir = await modelsProject('mlform-reconcile-', 'rec', ['alpha', 'beta']);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

async function project(): Promise<ProjectContext> {
  const opened = await openProject([dir]);
  expect(opened.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return opened.project!;
}

/** A request for the project; `lookFirst` as the loop sets it when it expects nothing to do. */
function request(
  p: ProjectContext,
  provider: Provider,
  backoff: ResourceBackoff,
  lookFirst: boolean,
): ReconcileRequest {
  return {
    lookFirst,
    revision: 'r1',
    desired: p.desired,
    provider,
    ctx: p.providerCtx,
    signal: new AbortController().signal,
    backoff,
    options: { prune: false, selfHeal: true, parallelism: 4, progressMs: PROGRESS_MS, resyncMs: RESYNC_MS },
    log: pino({ level: 'silent' }),
  };
}

/** A clock that stands still: backoff times are exact. */
const frozenBackoff = () => {
  const now = Date.now();
  return new ResourceBackoff({ baseMs: BACKOFF_BASE_MS, maxMs: 60_000, now: () => now });
};

/** Runs are created "running" and stay so: a training in flight, without a trainer process. */
function withRunningTrainings(inner: Provider): Provider {
  const runs: ObservedRun[] = [];
  return {
    ...inner,
    trainingRuns: {
      ...inner.trainingRuns,
      list: async () => ({ items: [...runs], diagnostics: [] }),
      create: async (_ctx, req) => {
        const run: ObservedRun = {
          name: req.name,
          number: req.number,
          specHash: req.specHash,
          state: 'running',
          attempt: req.attempt,
          createdAt: new Date().toISOString(),
          annotations: req.annotations,
        };
        runs.push(run);
        return { run, diagnostics: [] };
      },
      observe: async (_ctx, req) => ({
        run: runs.find((r) => r.name === req.name && r.number === req.number),
        diagnostics: [],
      }),
    },
  };
}

describe('reconcile', () => {
  it('idle: applies what is missing, then, converged, asks again at the resync interval', async () => {
    const p = await project();
    const backoff = frozenBackoff();
    const first = await reconcile(request(p, p.provider, backoff, false));
    expect(first).toMatchObject({ outcome: 'succeeded', applied: 2, failed: [], running: 0 });
    expect(first.requeueAfterMs).toBe(RESYNC_MS);

    const calls: string[] = [];
    const counted = countingProvider(p.provider, (l) => calls.push(`${l.kind} ${l.verb} ${l.outcome}`));
    const second = await reconcile(request(p, counted, backoff, true));
    expect(second).toMatchObject({ outcome: 'succeeded', applied: 0, failed: [], changeFailures: 0 });
    expect(second.requeueAfterMs).toBe(RESYNC_MS);
    if (second.outcome === 'aborted') throw new Error('not aborted');
    expect(second.resources.map((r) => [r.address, r.syncStatus])).toEqual([
      ['RegisteredModel/alpha', 'Synced'],
      ['RegisteredModel/beta', 'Synced'],
    ]);
    // One list call per kind, and nothing else: a converged stack is not applied.
    expect(calls.sort()).toEqual([
      'DeployedEndpoint list ok',
      'RegisteredModel list ok',
      'Schedule list ok',
      'TrainingRun list ok',
    ]);
  });

  it('looking first, still applies what is to be done', async () => {
    const p = await project();
    const result = await reconcile(request(p, p.provider, frozenBackoff(), true));
    expect(result).toMatchObject({ outcome: 'succeeded', applied: 2, failed: [], changesLeft: false });
    expect(result.requeueAfterMs).toBe(RESYNC_MS);
  });

  it('progressing: a training in flight asks again after progressMs', async () => {
    await writeFile(join(dir, 'data.csv'), 'x,y\n1,2\n2,4\n3,6\n');
    await writeFile(join(dir, 'fit.yaml'), training);
    const p = await project();
    const provider = withRunningTrainings(p.provider);
    const backoff = frozenBackoff();
    const launched = await reconcile(request(p, provider, backoff, false));
    expect(launched).toMatchObject({ outcome: 'succeeded', applied: 3, running: 1 });
    expect(launched.requeueAfterMs).toBe(PROGRESS_MS);

    // Nothing to apply while it runs, still progressing.
    const waiting = await reconcile(request(p, provider, backoff, true));
    expect(waiting).toMatchObject({ outcome: 'succeeded', applied: 0, running: 1 });
    expect(waiting.requeueAfterMs).toBe(PROGRESS_MS);
  });

  it('backoff: a failed resource is retried when its backoff expires, sooner than the resync', async () => {
    const p = await project();
    const inner = p.provider;
    const failing: Provider = {
      ...inner,
      registeredModels: {
        ...inner.registeredModels,
        put: async (ctx, req) =>
          req.name === 'alpha'
            ? { diagnostics: [error('injected', 'quota exceeded')] }
            : inner.registeredModels.put(ctx, req),
      },
    };
    const backoff = frozenBackoff();
    const result = await reconcile(request(p, failing, backoff, false));
    expect(result).toMatchObject({
      outcome: 'degraded',
      applied: 1,
      failed: ['RegisteredModel/alpha'],
      changeFailures: 1,
    });
    expect(result.requeueAfterMs).toBe(BACKOFF_BASE_MS);
    if (result.outcome === 'aborted') throw new Error('not aborted');
    const alpha = result.resources.find((r) => r.address === 'RegisteredModel/alpha');
    expect(alpha).toMatchObject({ syncStatus: 'OutOfSync', lastError: 'quota exceeded' });
    expect(alpha?.conditions.some((c) => c.reason === 'RetryBackoff')).toBe(true);

    // Still blocked (the clock stands still): left out, not retried, and the backoff stays the
    // deadline (alpha's create is not "progressing" while it waits).
    const blocked = await reconcile(request(p, failing, backoff, true));
    expect(blocked).toMatchObject({ outcome: 'succeeded', applied: 0, changeFailures: 0 });
    expect(blocked.requeueAfterMs).toBe(BACKOFF_BASE_MS);
  });

  it('aborted: reports nothing and asks to be run again at once', async () => {
    const p = await project();
    const abort = new AbortController();
    abort.abort();
    const result = await reconcile({
      ...request(p, p.provider, frozenBackoff(), true),
      signal: abort.signal,
    });
    expect(result).toEqual({ outcome: 'aborted', requeueAfterMs: 0, changeFailures: 0 });
  });
});
