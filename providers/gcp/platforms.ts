/**
 * The two serving platforms of a gcp DeployedEndpoint behind one `deployedEndpoints` (README.md
 * "Vertex AI Endpoints"): Cloud Run services (`endpoints.ts`) and Vertex AI Endpoints
 * (`vertex-endpoints.ts`), picked by `spec.platform`.
 *
 * Observation keeps the plan's call budget: ListEndpoints (Vertex) is made only when it can find
 * something, i.e. unless `Provider.validate` said that the stack's manifests have no
 * `vertexEndpoint` endpoint and no listing in this process found one. Commands that do not
 * validate (destroy) always list both. An endpoint moved from one platform to the other is put on
 * the new one first and then removed from the old one.
 */
import { platformOf, type DeployedEndpointSpec, type Platform } from '../../resources/deployed-endpoint.js';
import type {
  ObservedEndpoint,
  ProviderContext,
  PutEndpointRequest,
  Response,
  ValidateResource,
} from '../provider.js';
import type { Gcp } from './context.js';
import { deleteEndpoint, listEndpoints, putEndpoint } from './endpoints.js';
import { deleteVertexEndpoint, listVertexEndpoints, putVertexEndpoint } from './vertex-endpoints.js';

export function createPlatforms(gcp: Gcp) {
  /** Stack -> whether its manifests have a vertexEndpoint endpoint (set by validate). */
  const expected = new Map<string, boolean>();
  /** Stack -> endpoint name -> the platforms the last listing found it on. */
  const seen = new Map<string, Map<string, Set<Platform>>>();
  const seenOf = (stack: string) => seen.get(stack) ?? new Map<string, Set<Platform>>();
  const foundOn = (stack: string, name: string, platform: Platform) =>
    seenOf(stack).get(name)?.has(platform) ?? false;

  const remove = (ctx: ProviderContext, name: string, platform: Platform): Promise<Response> =>
    platform === 'vertexEndpoint'
      ? deleteVertexEndpoint(gcp, ctx, { name })
      : deleteEndpoint(gcp, ctx, { name });

  return {
    expect(stack: string, resources: readonly ValidateResource[]): void {
      expected.set(
        stack,
        resources.some(
          (r) =>
            r.kind === 'DeployedEndpoint' &&
            platformOf((r.manifest as { spec: DeployedEndpointSpec }).spec) === 'vertexEndpoint',
        ),
      );
    },

    async list(
      ctx: ProviderContext,
      manifestsChecked?: Promise<void>,
    ): Promise<Response & { items: ObservedEndpoint[] }> {
      // Cloud Run is listed at once; whether Vertex AI is depends on what `expect` learns.
      const onVertexListed = (async (): Promise<Response & { items: ObservedEndpoint[] }> => {
        await manifestsChecked;
        const known = seenOf(ctx.stack);
        const vertex =
          expected.get(ctx.stack) !== false || [...known.values()].some((p) => p.has('vertexEndpoint'));
        return vertex ? listVertexEndpoints(gcp, ctx) : { items: [], diagnostics: [] };
      })();
      const [run, onVertex] = await Promise.all([listEndpoints(gcp, ctx), onVertexListed]);
      const found = new Map<string, Set<Platform>>();
      const mark = (name: string, p: Platform) => found.set(name, (found.get(name) ?? new Set()).add(p));
      for (const e of run.items) mark(e.name, 'cloudRun');
      for (const e of onVertex.items) mark(e.name, 'vertexEndpoint');
      seen.set(ctx.stack, found);
      // On both platforms (a move stopped half way): the one the record says is observed, unhealthy,
      // so the next apply puts it again and removes the other.
      const byName = new Map<string, ObservedEndpoint>();
      for (const e of [...run.items, ...onVertex.items]) {
        const onPlatform: Platform = onVertex.items.includes(e) ? 'vertexEndpoint' : 'cloudRun';
        if ((found.get(e.name)?.size ?? 0) < 2) byName.set(e.name, e);
        else if (platformOf(e.spec) === onPlatform) {
          const other = onPlatform === 'vertexEndpoint' ? 'Cloud Run' : 'Vertex AI';
          byName.set(e.name, { ...e, healthy: false, healthDetail: `also deployed on ${other}` });
        }
      }
      return { items: [...byName.values()], diagnostics: [...run.diagnostics, ...onVertex.diagnostics] };
    },

    async put(
      ctx: ProviderContext,
      req: PutEndpointRequest,
    ): Promise<Response & { endpoint?: ObservedEndpoint }> {
      const platform = platformOf(req.spec);
      const done =
        platform === 'vertexEndpoint'
          ? await putVertexEndpoint(gcp, ctx, req)
          : await putEndpoint(gcp, ctx, req);
      const other: Platform = platform === 'vertexEndpoint' ? 'cloudRun' : 'vertexEndpoint';
      if (!done.endpoint || !foundOn(ctx.stack, req.name, other)) return done;
      const removed = await remove(ctx, req.name, other);
      if (removed.diagnostics.length === 0) seenOf(ctx.stack).get(req.name)?.delete(other);
      return { ...done, diagnostics: [...done.diagnostics, ...removed.diagnostics] };
    },

    async delete(ctx: ProviderContext, req: { name: string }): Promise<Response> {
      const on = seenOf(ctx.stack).get(req.name);
      // Not listed in this process (an apply of a saved plan): Cloud Run, and Vertex when the stack uses it.
      const platforms: Platform[] = on
        ? [...on]
        : ['cloudRun', ...(expected.get(ctx.stack) !== false ? (['vertexEndpoint'] as const) : [])];
      const results = await Promise.all(platforms.map((p) => remove(ctx, req.name, p)));
      return { diagnostics: results.flatMap((r) => r.diagnostics) };
    },
  };
}
