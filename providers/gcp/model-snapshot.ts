/**
 * The per-model snapshot of observed versions and aliases (README.md "Models", "Observation without
 * one call per model"). It lives in the custom metadata of `<stack>/models/.versions/<name>.json`,
 * under the `models/` prefix the observation lists anyway, tagged with the model-level `updateTime`
 * that ListModels reported when it was taken. A listing whose `updateTime` equals the tag uses it
 * instead of calling ListModelVersions.
 *
 * Encoding (one JSON value, short keys, a string table for the repeated strings):
 *
 * ```
 * {"f":1,"t":"<tag>","s":[strings...],
 *  "v":[[version, runName#, runNumber, specHash#, artifact, [metric#, value, ...], [baseline#, value, ...],
 *        dataSha256# | -1, gitCommit# | -1, createdAt epoch ms], ...],
 *  "a":[[alias#, version], ...]}
 * ```
 *
 * `#` = index into `s`. `artifact` is 0 when it is the run's own directory `runs/<name>/<k>` (a
 * CustomJob's `--out`), `~/...` for another path under the stack's root (a tuning trial's
 * `runs/<name>/<k>/<trial>/model`, a scheduled run), otherwise the URI itself.
 */
import type { ObservedVersion } from '../provider.js';

/** The custom metadata key holding the snapshot. */
export const SNAPSHOT_KEY = 'v';
/**
 * GCS allows 8 KiB of custom metadata (keys + values) per object; a margin for the encoding of the
 * request and the metadata's own overhead.
 */
export const SNAPSHOT_LIMIT_BYTES = 8192 - 192;
const FORMAT = 1;

export interface ModelSnapshot {
  /** `updateTime` (and `createTime`) of the Vertex model when the snapshot was taken. */
  tag: string;
  versions: ObservedVersion[];
  aliases: Record<string, number>;
}

/** How artifact URIs are derived from run refs (the provider's GCS layout). */
export interface SnapshotLayout {
  /** `gs://bucket/<stack>` */
  root: string;
  /** `gs://bucket/<stack>/runs/<name>/<k>` */
  runDir(name: string, number: number): string;
}

/** The snapshot object of a model: under the listed `models/` prefix, never taken for a record. */
export const snapshotUri = (modelPrefix: string, name: string) => `${modelPrefix}.versions/${name}.json`;

/** The name of the model whose snapshot `relative` (the object name after `models/`) is, if it is one. */
export function snapshotNameOf(relative: string): string | undefined {
  return /^\.versions\/([^/]+)\.json$/.exec(relative)?.[1];
}

type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;

const stampOf = (t: Timestamp): string | undefined =>
  t && t.seconds !== undefined && t.seconds !== null ? `${String(t.seconds)}.${t.nanos ?? 0}` : undefined;

/**
 * The change detector of a model as ListModels returns it (its default version): the model-level
 * `updateTime` plus `createTime` (a model deleted and created again never matches an old tag).
 */
export function tagOf(m: { updateTime?: Timestamp; createTime?: Timestamp }): string | undefined {
  const u = stampOf(m.updateTime);
  return u && `${u}/${stampOf(m.createTime) ?? ''}`;
}

type Encoded = [
  number,
  number,
  number,
  number,
  string | 0,
  number[],
  number[],
  number,
  number,
  number | string,
];

/** The snapshot as a metadata value, or undefined when it would not fit the metadata limit. */
export function encodeSnapshot(s: ModelSnapshot, layout: SnapshotLayout): string | undefined {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const at = (v: string) => {
    let i = index.get(v);
    if (i === undefined) {
      i = strings.length;
      strings.push(v);
      index.set(v, i);
    }
    return i;
  };
  const pairs = (o: Record<string, number>) => Object.entries(o).flatMap(([k, v]) => [at(k), v]);
  const rootSlash = `${layout.root}/`;
  const versions = s.versions.map((v): Encoded => {
    const artifact =
      v.artifactUri === layout.runDir(v.run.name, v.run.number)
        ? 0
        : v.artifactUri.startsWith(rootSlash)
          ? `~/${v.artifactUri.slice(rootSlash.length)}`
          : v.artifactUri;
    const ms = Date.parse(v.createdAt);
    const created = Number.isFinite(ms) && new Date(ms).toISOString() === v.createdAt ? ms : v.createdAt;
    return [
      v.version,
      at(v.run.name),
      v.run.number,
      at(v.specHash),
      artifact,
      pairs(v.metrics),
      pairs(v.baseline),
      v.dataSha256 !== undefined ? at(v.dataSha256) : -1,
      v.gitCommit !== undefined ? at(v.gitCommit) : -1,
      created,
    ];
  });
  const aliases = Object.entries(s.aliases).map(([a, v]) => [at(a), v]);
  const text = JSON.stringify({ f: FORMAT, t: s.tag, s: strings, v: versions, a: aliases });
  if (!isSafe(s) || Buffer.byteLength(SNAPSHOT_KEY) + Buffer.byteLength(text) > SNAPSHOT_LIMIT_BYTES)
    return undefined;
  return text;
}

/** Only finite numbers survive JSON unchanged. */
function isSafe(s: ModelSnapshot): boolean {
  return s.versions.every((v) =>
    [...Object.values(v.metrics), ...Object.values(v.baseline)].every((n) => Number.isFinite(n)),
  );
}

const isInt = (v: unknown): v is number => Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The snapshot in a metadata value; undefined when absent, damaged or of another format. */
export function decodeSnapshot(text: string | undefined, layout: SnapshotLayout): ModelSnapshot | undefined {
  if (!text) return undefined;
  try {
    const raw = JSON.parse(text) as { f?: unknown; t?: unknown; s?: unknown; v?: unknown; a?: unknown };
    if (raw.f !== FORMAT || typeof raw.t !== 'string' || !Array.isArray(raw.s) || !Array.isArray(raw.v))
      return undefined;
    if (!Array.isArray(raw.a)) return undefined;
    const strings = raw.s as unknown[];
    const str = (i: unknown): string => {
      const v = isInt(i) ? strings[i] : undefined;
      if (typeof v !== 'string') throw new Error('bad string index');
      return v;
    };
    const record = (flat: unknown): Record<string, number> => {
      if (!Array.isArray(flat) || flat.length % 2 !== 0) throw new Error('bad pairs');
      const out: Record<string, number> = {};
      for (let i = 0; i < flat.length; i += 2) {
        const value: unknown = flat[i + 1];
        if (!isNum(value)) throw new Error('bad number');
        out[str(flat[i])] = value;
      }
      return out;
    };
    const versions = (raw.v as unknown[]).map((e): ObservedVersion => {
      if (!Array.isArray(e) || e.length !== 10) throw new Error('bad version');
      const [version, runName, runNumber, specHash, artifact, metrics, baseline, data, git, created] =
        e as unknown[];
      if (!isInt(version) || !isInt(runNumber) || !isInt(data) || !isInt(git)) throw new Error('bad version');
      const run = { name: str(runName), number: runNumber };
      let artifactUri: string;
      if (artifact === 0) artifactUri = layout.runDir(run.name, run.number);
      else if (typeof artifact === 'string')
        artifactUri = artifact.startsWith('~/') ? `${layout.root}/${artifact.slice(2)}` : artifact;
      else throw new Error('bad artifact');
      let createdAt: string;
      if (isInt(created)) createdAt = new Date(created).toISOString();
      else if (typeof created === 'string') createdAt = created;
      else throw new Error('bad time');
      return {
        version,
        run,
        specHash: str(specHash),
        artifactUri,
        metrics: record(metrics),
        baseline: record(baseline),
        ...(data >= 0 && { dataSha256: str(data) }),
        ...(git >= 0 && { gitCommit: str(git) }),
        createdAt,
      };
    });
    const aliases: Record<string, number> = {};
    for (const e of raw.a as unknown[]) {
      if (!Array.isArray(e) || e.length !== 2 || !isInt(e[1])) throw new Error('bad alias');
      aliases[str(e[0])] = e[1];
    }
    return { tag: raw.t, versions, aliases };
  } catch {
    return undefined;
  }
}
