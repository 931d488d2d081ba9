/** Observing actual state: one list call per kind, all four at once (docs/architecture.md "Principles" 4). */
import type { Diagnostic } from '../../resources/diagnostic.js';
import { KINDS } from '../../resources/kinds.js';
import type { ObservedState, Provider, ProviderContext } from '../../providers/provider.js';
import { isObserved } from './plan-adopt.js';

/** The actual state of a stack, with what its listings reported (errors block: see below). */
export interface Observation {
  state: ObservedState;
  diagnostics: Diagnostic[];
}

export interface ObserveOptions {
  /**
   * Resolves once `Provider.validate` has seen the manifests: a provider may learn from it which
   * serving platforms to list (gcp lists Vertex AI Endpoints only then), and an observation started
   * before the manifests were loaded (`mlform plan`) waits for it for those platforms only.
   */
  endpointsAfter?: Promise<void>;
}

export async function observe(
  provider: Provider,
  ctx: ProviderContext,
  options: ObserveOptions = {},
): Promise<Observation> {
  const { endpointsAfter } = options;
  const [runs, models, endpoints, schedules] = await Promise.all([
    provider.trainingRuns.list(ctx),
    provider.registeredModels.list(ctx),
    provider.deployedEndpoints.list(ctx, endpointsAfter && { manifestsChecked: endpointsAfter }),
    provider.schedules.list(ctx),
  ]);
  const state: ObservedState = {
    runs: runs.items,
    models: models.items,
    endpoints: endpoints.items,
    schedules: schedules.items,
  };
  const diagnostics = [
    ...runs.diagnostics,
    ...models.diagnostics,
    ...endpoints.diagnostics,
    ...schedules.diagnostics,
  ];
  // `import:` entries not adopted yet need the unmanaged objects (a few list calls more); once
  // every entry is the stack's, observing costs what it did before.
  if (provider.listUnmanaged && (ctx.imports ?? []).some((e) => !isObserved(state, e.to))) {
    const unmanaged = await provider.listUnmanaged(ctx);
    state.unmanaged = unmanaged.items;
    diagnostics.push(...unmanaged.diagnostics);
  }
  return { state, diagnostics };
}

/**
 * What an observation's errors forbid apply to do. An object the provider could not read (a
 * damaged record, an unreadable listing) is missing from the observed state, and acting on that
 * absence would recreate it over the damage. So observation fails closed: an error that names a
 * resource (`TrainingRun/x`) blocks the changes of that resource, and one that does not (a whole
 * listing failed) blocks the whole apply. `plan` fails on the same errors.
 */
export interface ObservationBlocks {
  /** Errors that name no single resource: nothing may be applied. */
  whole: Diagnostic[];
  /** Resource address -> the errors that block its changes. */
  resources: Map<string, Diagnostic[]>;
}

const RESOURCE_ADDRESS = new RegExp(`^(${KINDS.join('|')})/[^/\\s]+$`);

export function observationBlocks(diagnostics: readonly Diagnostic[]): ObservationBlocks {
  const blocks: ObservationBlocks = { whole: [], resources: new Map() };
  for (const d of diagnostics) {
    if (d.severity !== 'error') continue;
    if (d.address !== undefined && RESOURCE_ADDRESS.test(d.address)) {
      blocks.resources.set(d.address, [...(blocks.resources.get(d.address) ?? []), d]);
    } else {
      blocks.whole.push(d);
    }
  }
  return blocks;
}
