/**
 * The local provider (docs/architecture.md "Providers"): actual state is a state directory next to
 * mlform.yaml; trainings and endpoints are real detached processes of the mlform CLI. See
 * README.md for the layout and the crash-recovery rules.
 */
import { isGcsUri, storeFor } from '../../artifact/storage.js';
import type { Provider, ProviderContext } from '../provider.js';
import { deleteEndpoint, listEndpoints, putEndpoint } from './endpoints.js';
import { validateLocalEndpoints } from './endpoint-upstreams.js';
import { acquireLease, inspectLease } from './lease.js';
import { deleteModel, deleteVersion, listModels, moveAlias, putModel, registerVersion } from './registry.js';
import { cancelRun, createRun, listRuns, observeRun, runLogs } from './runs.js';
import { deleteSchedule, listSchedules, putSchedule, triggerSchedule } from './schedules.js';
import { resolveSettings, stateRoot, type LocalProviderOptions } from './settings.js';
import { ensureStateRoot } from './state-dir.js';
import { localStateStore } from './state-store.js';
import { validateCommands } from './command-runs.js';
import { validateLocalSamplers } from './tuning-sampler.js';
import { resolve } from 'node:path';

/** A relative artifact path means one in the project, like every other local path. */
const artifactUri = (ctx: ProviderContext, uri: string): string =>
  isGcsUri(uri) || uri.startsWith('file://') ? uri : resolve(ctx.projectDir, uri);

export function createLocalProvider(options: LocalProviderOptions = {}) {
  const settings = resolveSettings(options);
  /** Verbs that may create the state directory create it first (with its `.gitignore`). */
  const creating =
    <Req, Res>(verb: (ctx: ProviderContext, req: Req) => Promise<Res>) =>
    async (ctx: ProviderContext, req: Req): Promise<Res> => {
      // A failure here surfaces as the verb's own error when it writes.
      await ensureStateRoot(stateRoot(settings, ctx)).catch(() => undefined);
      return verb(ctx, req);
    };
  return {
    name: 'local',
    capabilities: { schedulesFireInProcess: true, stateDirectory: true },
    trainingRuns: {
      list: (ctx) => listRuns(settings, ctx),
      create: creating((ctx, req) => createRun(settings, ctx, req)),
      cancel: (ctx, req) => cancelRun(settings, ctx, req),
      observe: (ctx, req) => observeRun(settings, ctx, req),
      logs: (ctx, req) => runLogs(settings, ctx, req),
    },
    registeredModels: {
      list: (ctx) => listModels(settings, ctx),
      put: creating((ctx, req) => putModel(settings, ctx, req)),
      delete: (ctx, req) => deleteModel(settings, ctx, req),
      registerVersion: (ctx, req) => registerVersion(settings, ctx, req),
      moveAlias: (ctx, req) => moveAlias(settings, ctx, req),
      deleteVersion: (ctx, req) => deleteVersion(settings, ctx, req),
    },
    deployedEndpoints: {
      list: (ctx) => listEndpoints(settings, ctx),
      put: creating((ctx, req) => putEndpoint(settings, ctx, req)),
      delete: (ctx, req) => deleteEndpoint(settings, ctx, req),
    },
    schedules: {
      list: (ctx) => listSchedules(settings, ctx),
      put: creating((ctx, req) => putSchedule(settings, ctx, req)),
      delete: (ctx, req) => deleteSchedule(settings, ctx, req),
      trigger: (ctx, req) => triggerSchedule(settings, ctx, req),
    },
    lock: (ctx, req) => acquireLease(settings, ctx, req),
    inspectLock: (ctx, req) => inspectLease(settings, ctx, req.name ?? 'apply'),
    // Plan fails before anything runs when this operator would refuse a command (command-runs.ts,
    // endpoints.ts).
    validate: async (_ctx, resources) => [
      ...validateCommands(settings.commands, resources),
      ...validateLocalEndpoints(settings, resources),
      ...validateLocalSamplers(resources),
    ],
    stateStore: localStateStore((ctx) => stateRoot(settings, ctx)),
    artifacts: {
      read: (ctx, uri) => storeFor(artifactUri(ctx, uri)).read(artifactUri(ctx, uri)),
      write: (ctx, uri, data) => storeFor(artifactUri(ctx, uri)).write(artifactUri(ctx, uri), data),
    },
  } satisfies Provider;
}

/** With the default options: state in `.mlform` next to mlform.yaml. */
export const localProvider = createLocalProvider();
