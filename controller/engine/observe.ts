/** Observing actual state: one list call per kind, all four at once (DESIGN.md "Refresh on a budget"). */
import type { Diagnostic } from '../../resources/diagnostic.js';
import type { ObservedState, Provider, ProviderContext } from '../../providers/provider.js';

export async function observe(
  provider: Provider,
  ctx: ProviderContext,
): Promise<{ state: ObservedState; diagnostics: Diagnostic[] }> {
  const [runs, models, endpoints, schedules] = await Promise.all([
    provider.trainingRuns.list(ctx),
    provider.registeredModels.list(ctx),
    provider.deployedEndpoints.list(ctx),
    provider.schedules.list(ctx),
  ]);
  return {
    state: { runs: runs.items, models: models.items, endpoints: endpoints.items, schedules: schedules.items },
    diagnostics: [
      ...runs.diagnostics,
      ...models.diagnostics,
      ...endpoints.diagnostics,
      ...schedules.diagnostics,
    ],
  };
}
