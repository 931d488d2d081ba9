/**
 * Carries out one change: its command (apply-commands.ts), the command's guard against the
 * manifests and fresh listings, then the provider calls in order, and the outcome classified. A
 * provider that throws is a failed change like one that answers with an error: apply goes on with
 * unrelated resources either way.
 */
import type { DesiredState } from '../../manifests/load.js';
import { errorMessage } from '../../resources/error-message.js';
import { error, hasErrors, type Diagnostic } from '../../resources/diagnostic.js';
import type { ObservedState, Provider, ProviderContext, Response } from '../../providers/provider.js';
import { checkGuard } from './apply-guards.js';
import {
  commandFor,
  type Command,
  type ProviderCall,
  type ProviderMethod,
  type ProviderRequests,
} from './apply-commands.js';
import type { Change } from './change.js';

export interface ExecutorEnv {
  provider: Provider;
  ctx: ProviderContext;
  desired: DesiredState;
  /** The observation the change was planned from. */
  state: ObservedState;
  destroy: boolean;
  /** Resources this apply adopts (`import:`): none of them is deleted before the next apply. */
  adopting?: ReadonlySet<string>;
}

/** `failed`: the change's resource fails (its diagnostics hold at least one error). */
export interface Outcome {
  failed: boolean;
  diagnostics: Diagnostic[];
}

export async function executeChange(change: Change, env: ExecutorEnv): Promise<Outcome> {
  const response = await respond(change, env).catch((e: unknown): Response => ({
    diagnostics: [error('provider-error', `${change.address}: ${errorMessage(e)}`)],
  }));
  return { failed: hasErrors(response.diagnostics), diagnostics: response.diagnostics };
}

async function respond(change: Change, env: ExecutorEnv): Promise<Response> {
  const { command, diagnostics } = commandFor(change, env.state);
  if (!command) return { diagnostics };
  // The execution-time rules first (apply-guards.ts): a refused change never reaches the provider.
  const refused = await checkGuard(command.guard, {
    desired: env.desired,
    state: env.state,
    destroy: env.destroy,
    adopting: env.adopting ?? new Set(),
    registry: listed(() => env.provider.registeredModels.list(env.ctx)),
    endpoints: listed(() => env.provider.deployedEndpoints.list(env.ctx)),
  });
  if (refused.length > 0) return { diagnostics: refused };
  if (hasErrors(diagnostics)) return { diagnostics };
  return runCalls(command, env);
}

/** In order; the first failure stops the rest, and warnings of the calls before it are kept. */
async function runCalls(command: Command, env: ExecutorEnv): Promise<Response> {
  const warnings: Diagnostic[] = [];
  for (const call of command.calls) {
    const response = await callProvider(env.provider, env.ctx, call);
    if (hasErrors(response.diagnostics)) return { diagnostics: [...warnings, ...response.diagnostics] };
    warnings.push(...response.diagnostics);
  }
  return { diagnostics: warnings };
}

/** How each method is called: one line per method, typed by its request. */
const CALLS: {
  [M in ProviderMethod]: (
    provider: Provider,
    ctx: ProviderContext,
    request: ProviderRequests[M],
  ) => Promise<Response>;
} = {
  'trainingRuns.create': (p, ctx, request) => p.trainingRuns.create(ctx, request),
  'trainingRuns.cancel': (p, ctx, request) => p.trainingRuns.cancel(ctx, request),
  'registeredModels.put': (p, ctx, request) => p.registeredModels.put(ctx, request),
  'registeredModels.delete': (p, ctx, request) => p.registeredModels.delete(ctx, request),
  'registeredModels.registerVersion': (p, ctx, request) => p.registeredModels.registerVersion(ctx, request),
  'registeredModels.moveAlias': (p, ctx, request) => p.registeredModels.moveAlias(ctx, request),
  'registeredModels.deleteVersion': (p, ctx, request) => p.registeredModels.deleteVersion(ctx, request),
  'deployedEndpoints.put': (p, ctx, request) => p.deployedEndpoints.put(ctx, request),
  'deployedEndpoints.delete': (p, ctx, request) => p.deployedEndpoints.delete(ctx, request),
  'schedules.put': (p, ctx, request) => p.schedules.put(ctx, request),
  'schedules.delete': (p, ctx, request) => p.schedules.delete(ctx, request),
  'schedules.trigger': (p, ctx, request) => p.schedules.trigger(ctx, request),
  adopt: async (p, ctx, request) =>
    p.adopt
      ? p.adopt(ctx, request)
      : {
          diagnostics: [
            error(
              'import-unsupported',
              `${request.kind}/${request.name}: provider ${p.name} cannot adopt objects`,
            ),
          ],
        },
};

export function callProvider<M extends ProviderMethod>(
  provider: Provider,
  ctx: ProviderContext,
  call: ProviderCall<M>,
): Promise<Response> {
  const invoke: (
    provider: Provider,
    ctx: ProviderContext,
    request: ProviderRequests[M],
  ) => Promise<Response> = CALLS[call.method];
  return invoke(provider, ctx, call.request);
}

/** A guard reads a listing that must be complete: a listing error throws (a provider-error above). */
const listed =
  <T>(list: () => Promise<Response & { items: T[] }>) =>
  async (): Promise<T[]> => {
    const { items, diagnostics } = await list();
    if (hasErrors(diagnostics)) throw new Error(diagnostics.map((d) => d.message).join('; '));
    return items;
  };
