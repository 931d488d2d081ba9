/**
 * Snapshots and I/O for the view tests: the quickstart's manifests loaded for real, observed state
 * written by hand, the plan and statuses computed by the real engine, and a fake provider whose
 * logs, artifact files and /metrics come from maps (reads of anything else fail loudly).
 */
import { resolve } from 'node:path';
import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { expect } from 'vitest';
import { loadManifests } from '../../../manifests/load.js';
import type { DesiredState } from '../../../manifests/load.js';
import type { BackoffEntry } from '../../../controller/loop/backoff.js';
import { plan } from '../../../controller/engine/plan.js';
import { resourceStatus } from '../../../controller/engine/status.js';
import { resourceViews } from '../../../controller/loop/loop-status.js';
import { DOCUMENT_SCHEMAS, type ApiRoute } from '../../../controller/web/api.js';
import type { StackSnapshot, ViewIO, ViewResult } from '../../../controller/web/snapshot.js';
import type {
  ObservedEndpoint,
  ObservedModel,
  ObservedRun,
  ObservedSchedule,
  ObservedState,
  Provider,
} from '../../../providers/provider.js';
import type { Diagnostic } from '../../../resources/diagnostic.js';
import type { Kind, SpecOf } from '../../../resources/kinds.js';

export const QUICKSTART = resolve('examples/quickstart');
export const NOW = new Date('2026-03-02T12:00:00.000Z');

export async function quickstart(): Promise<DesiredState> {
  const { desired, diagnostics } = await loadManifests([QUICKSTART]);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return desired;
}

export function specHashOf(desired: DesiredState, address: string): string {
  const r = desired.resources.find((x) => x.address === address);
  if (!r) throw new Error(`no ${address} in the fixture`);
  return r.specHash;
}

export const run = (over: Partial<ObservedRun> & Pick<ObservedRun, 'number'>): ObservedRun => ({
  name: 'mpg-mlp',
  specHash: 'h',
  state: 'succeeded',
  attempt: 1,
  createdAt: new Date(Date.UTC(2026, 2, 1, over.number)).toISOString(),
  finishedAt: new Date(Date.UTC(2026, 2, 1, over.number, 30)).toISOString(),
  annotations: {},
  ...over,
});

/** A declared resource's spec hash and spec, to build its observed twin. */
function declared<K extends Kind>(desired: DesiredState, kind: K, name: string) {
  const r = desired.resources.find((x) => x.address === `${kind}/${name}`);
  if (r?.manifest.kind !== kind) throw new Error(`no ${kind}/${name} in the fixture`);
  return { name, specHash: r.specHash, spec: r.manifest.spec as SpecOf<K>, annotations: {} };
}

export const model = (desired: DesiredState, over: Partial<ObservedModel> = {}): ObservedModel => ({
  ...declared(desired, 'RegisteredModel', 'mpg'),
  versions: [],
  aliases: {},
  ...over,
});

export const endpoint = (desired: DesiredState, over: Partial<ObservedEndpoint> = {}): ObservedEndpoint => ({
  ...declared(desired, 'DeployedEndpoint', 'mpg-api'),
  model: 'mpg',
  traffic: [{ version: 1, percent: 100 }],
  url: 'http://127.0.0.1:8501',
  healthy: true,
  ...over,
});

export const schedule = (desired: DesiredState, over: Partial<ObservedSchedule> = {}): ObservedSchedule => ({
  ...declared(desired, 'Schedule', 'mpg-weekly'),
  paused: false,
  ...over,
});

export const observed = (over: Partial<ObservedState> = {}): ObservedState => ({
  runs: [],
  models: [],
  endpoints: [],
  schedules: [],
  ...over,
});

export interface SnapshotOptions {
  provider?: 'local' | 'gcp';
  mode?: 'controller' | 'ui';
  diagnostics?: Diagnostic[];
  backoff?: Record<string, BackoffEntry>;
  controller?: StackSnapshot['controller'];
  now?: Date;
}

/** A snapshot as the sources build it: plan and statuses from the real engine. */
export function snapshotOf(
  desired: DesiredState | undefined,
  state: ObservedState,
  options: SnapshotOptions = {},
): StackSnapshot {
  const now = options.now ?? NOW;
  const made = desired ? plan(desired, state) : undefined;
  const statuses = resourceStatus(desired ?? { resources: [] }, state, made, { now });
  return {
    seq: 1,
    observedAt: now.toISOString(),
    mode: options.mode ?? 'ui',
    stack: 'quickstart',
    provider: options.provider ?? 'local',
    projectDir: QUICKSTART,
    desired,
    observed: state,
    plan: made,
    statuses: resourceViews(statuses, { get: (a: string) => options.backoff?.[a] }, 'abc123'),
    diagnostics: options.diagnostics ?? [],
    ...(options.controller && { controller: options.controller }),
    refreshSeconds: 5,
  };
}

export interface FakeIO extends ViewIO {
  /** Calls made, for assertions on what was read. */
  calls: string[];
}

export interface FakeIOOptions {
  /** `name#number` -> log lines. */
  logs?: Record<string, string[]>;
  /** Lines per `logs` page (the local provider pages by bytes; any page size must work). */
  pageLines?: number;
  /** Artifact file URI -> content. */
  files?: Record<string, string>;
  /** Endpoint URL -> /metrics text (a function to change it between scrapes). */
  metrics?: Record<string, string | (() => string)>;
  observe?: (ref: { name: string; number: number }) => ObservedRun | undefined;
  now?: () => Date;
}

export function fakeIO(options: FakeIOOptions = {}): FakeIO {
  const calls: string[] = [];
  const refuse = (what: string) => () => {
    throw new Error(`the views must not call ${what}`);
  };
  const provider = {
    name: 'local',
    capabilities: { schedulesFireInProcess: true, stateDirectory: true },
    trainingRuns: {
      list: refuse('trainingRuns.list'),
      create: refuse('trainingRuns.create'),
      cancel: refuse('trainingRuns.cancel'),
      observe: async (_ctx: unknown, ref: { name: string; number: number }) => {
        calls.push(`observe ${ref.name}#${ref.number}`);
        const found = options.observe?.(ref);
        return { diagnostics: [], ...(found && { run: found }) };
      },
      logs: async (_ctx: unknown, req: { name: string; number: number; from?: number }) => {
        const from = req.from ?? 0;
        calls.push(`logs ${req.name}#${req.number} from ${from}`);
        const all = options.logs?.[`${req.name}#${req.number}`] ?? [];
        const lines = all.slice(from, from + (options.pageLines ?? 1000));
        return { lines, next: from + lines.length, diagnostics: [] };
      },
    },
    registeredModels: {},
    deployedEndpoints: {},
    schedules: {},
    lock: refuse('lock'),
    artifacts: {
      read: async (_ctx: unknown, uri: string) => {
        calls.push(`read ${uri}`);
        const content = options.files?.[uri];
        if (content === undefined) throw new Error(`ENOENT: ${uri}`);
        return Buffer.from(content);
      },
      write: refuse('artifacts.write'),
    },
  };
  return {
    // Only the parts the views may use are real; the rest refuse (the cast says so).
    provider: provider as unknown as Provider,
    ctx: { stack: 'quickstart', projectDir: QUICKSTART, readOnly: true },
    now: options.now ?? (() => NOW),
    calls,
    scrapeMetrics: async (url: string) => {
      calls.push(`scrape ${url}`);
      const m = options.metrics?.[url];
      return typeof m === 'function' ? m() : m;
    },
  };
}

/** A 200 whose document validates against the view's schema; returns the document. */
export function okDoc<V extends ApiRoute['view']>(view: V, result: ViewResult) {
  if (result.status !== 200)
    throw new Error(`expected 200, got ${result.status}: ${JSON.stringify(result.error)}`);
  const schema = DOCUMENT_SCHEMAS[view];
  const errors = [...Value.Errors(schema, result.doc)].map((e) => `${e.path}: ${e.message}`);
  expect(errors).toEqual([]);
  return result.doc as Static<(typeof DOCUMENT_SCHEMAS)[V]>;
}
