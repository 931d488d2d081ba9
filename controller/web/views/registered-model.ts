/**
 * `GET /api/v1/registeredmodels/:name`: the versions (newest first, paged) with aliases, metrics,
 * the gate checked against each, lineage and the endpoints serving them; the key metric the
 * chart shows; the alias history where the registry keeps one; the latest run the gate refused.
 */
import { addressOf } from '../../../resources/address.js';
import type { ObservedVersion } from '../../../providers/provider.js';
import { evaluateGate } from '../../engine/gate.js';
import type { ApiRoute, RegisteredModelDoc } from '../api.js';
import type { StackSnapshot, ViewIO, ViewResult } from '../snapshot.js';
import { documentHeader } from './document-header.js';
import { keyMetricName } from './key-metric.js';
import { notFound } from './not-found.js';
import { aliasesByVersion, itemOf } from './resource-items.js';
import { cleanText } from './safe-text.js';
import { specYaml } from './spec-yaml.js';
import { modelSpecOf, namesOf, stackIndex } from './stack-index.js';

type ModelRoute = Extract<ApiRoute, { view: 'registeredmodel' }>;

export const NO_ALIAS_HISTORY =
  'this registry keeps no alias history (Vertex AI Model Registry stores only the current aliases); the aliases shown are the current ones';

export function buildRegisteredModel(route: ModelRoute, snapshot: StackSnapshot, io: ViewIO): ViewResult {
  const index = stackIndex(snapshot);
  const resource = itemOf(index, 'RegisteredModel', route.name, io.now());
  if (!resource) return notFound('RegisteredModel', route.name, namesOf(index, 'RegisteredModel'));
  const model = index.models.get(route.name);
  const spec = modelSpecOf(index, route.name);
  const gate = spec?.gate;
  const versions = [...(model?.versions ?? [])].sort((a, b) => b.version - a.version);
  const aliasesOf = aliasesByVersion(model?.aliases ?? {});
  const servedBy = new Map<number, { endpoint: string; percent: number }[]>();
  for (const endpoint of index.endpointsByModel.get(route.name) ?? []) {
    for (const t of endpoint.traffic) {
      if (t.percent <= 0) continue;
      servedBy.set(t.version, [
        ...(servedBy.get(t.version) ?? []),
        { endpoint: endpoint.name, percent: t.percent },
      ]);
    }
  }
  const history = model?.aliasHistory;
  const doc: RegisteredModelDoc = {
    ...documentHeader(snapshot),
    resource,
    specYaml: specYaml(spec),
    keyMetric:
      keyMetricName(
        versions.map((v) => v.metrics),
        gate?.metric,
      ) ?? null,
    versions: versions.slice(0, route.limit).map((v) => ({
      version: v.version,
      aliases: aliasesOf.get(v.version) ?? [],
      run: { name: v.run.name, number: v.run.number },
      metrics: { ...v.metrics },
      baseline: { ...v.baseline },
      gate: gate ? { ...evaluateGate(gate, v.metrics, v.baseline) } : null,
      dataSha256: v.dataSha256 ?? null,
      gitCommit: v.gitCommit ?? null,
      specHash: v.specHash,
      artifactUri: cleanText(v.artifactUri),
      createdAt: v.createdAt,
      servedBy: servedBy.get(v.version) ?? [],
    })),
    versionsTotal: versions.length,
    aliasHistory: [...(history ?? [])].reverse().map((m) => ({
      alias: m.alias,
      version: m.version,
      previous: m.previous,
      at: m.at,
    })),
    aliasHistoryNote: model && history === undefined ? NO_ALIAS_HISTORY : null,
    rejected: rejectedRun(snapshot, route.name, model?.versions ?? []),
  };
  return { status: 200, doc };
}

/**
 * The plan speaks of a refused run as a noop notice at `RegisteredModel/<m>/versions/<run>` whose
 * reason is `<run> failed the gate: <why>` (controller/engine/plan-models.ts); candidates are in
 * finishing order, so the last notice is the latest refused run. A refused run stays a candidate
 * after a later run of the same TrainingRun became a version: then it is history, not news.
 */
function rejectedRun(
  snapshot: StackSnapshot,
  model: string,
  versions: readonly ObservedVersion[],
): RegisteredModelDoc['rejected'] {
  const prefix = `${addressOf('RegisteredModel', model)}/versions/`;
  let found: RegisteredModelDoc['rejected'] = null;
  for (const c of snapshot.plan?.changes ?? []) {
    if (c.action !== 'noop' || !c.notice || !c.address.startsWith(prefix)) continue;
    const run = c.address.slice(prefix.length);
    const marker = `${run} failed the gate: `;
    if (!c.reason.startsWith(marker)) continue;
    const hash = run.lastIndexOf('#');
    const [name, number] = [run.slice(0, hash), Number(run.slice(hash + 1))];
    if (versions.some((v) => v.run.name === name && v.run.number > number)) continue;
    found = { run: cleanText(run), reason: cleanText(c.reason.slice(marker.length)) };
  }
  return found;
}
