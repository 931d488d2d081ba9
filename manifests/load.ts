/**
 * Files -> validated desired state. Every problem in every file is collected and returned as a
 * diagnostic with file:line:col; nothing here throws on bad input.
 */
import { addressOf } from '../resources/address.js';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import pLimit from 'p-limit';
import type { Document, LineCounter } from 'yaml';
import { error, hasErrors, type Diagnostic, type FieldPath } from '../resources/diagnostic.js';
import { API_VERSION, checkName } from '../resources/metadata.js';
import {
  KIND_DEFINITIONS,
  KINDS,
  isKind,
  type AnyManifest,
  type Kind,
  type KindDefinition,
  type RegisteredModel,
} from '../resources/kinds.js';
import { checkProjectConfig, type ProjectConfig } from '../resources/project.js';
import { checkTrafficAgainstModel } from '../resources/deployed-endpoint.js';
import { checkTriggerEndpoints } from '../resources/schedule.js';
import { specHash } from '../resources/spec-hash.js';
import { hashedRunSpec } from '../resources/training-run.js';
import { didYouMean } from '../resources/suggest.js';
import { collectFiles, displayPath } from './collect-files.js';
import { buildDependencyGraph, type DependencyGraph } from './dependency-graph.js';
import { readManifestFile } from './source-file.js';
import { validateAgainstSchema } from './schema-validation.js';
import { fastParse } from './fast-parse.js';
import { locate, parseYamlFile } from './yaml-document.js';
import { checkFileFields } from './local-files.js';
import { keepFilesInTree, resolveTrustRoots, type TrustRoots } from './trust.js';

export interface ResourceSource {
  /** As displayed (relative to the working directory when inside it). */
  file: string;
  /** Absolute path; relative data URIs resolve against its folder. */
  path: string;
  /** 0-based index of the document in a multi-document file. */
  document: number;
  line: number;
  col: number;
}

export interface LoadedResource {
  address: string;
  kind: Kind;
  name: string;
  /** Normalised: defaults applied, presets and helpers expanded. */
  manifest: AnyManifest;
  specHash: string;
  source: ResourceSource;
}

export interface LoadedProject {
  config: ProjectConfig;
  file: string;
  /** Folder of mlform.yaml: the state directory and relative paths resolve against it. */
  dir: string;
}

export interface DesiredState {
  project?: LoadedProject;
  resources: LoadedResource[];
  graph: DependencyGraph;
  files: string[];
  /**
   * The tree root (realpath) every file was checked against: the operator's (the controller's
   * checkout) or the nearest folder with `.git` above mlform.yaml. Providers hand it, with
   * `dataRoots`, to the trainer's run-time check (`MLFORM_DATA_ROOTS`, trainer/data/README.md).
   */
  treeRoot: string;
  /** Realpaths of the further folders the operator allowed data from. */
  dataRoots: string[];
}

export interface LoadResult {
  desired: DesiredState;
  diagnostics: Diagnostic[];
}

const READ_CONCURRENCY = 32;
const turnEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves a field path to a position, while the parsed document is still in memory. */
type Locator = (
  path: FieldPath,
  target?: 'key' | 'value',
) => Pick<Diagnostic, 'file' | 'line' | 'col' | 'length'>;

interface Candidate {
  address: string;
  kind: Kind;
  name: string;
  /** Schema-valid document with defaults (semantic rules may still have failed). */
  manifest?: AnyManifest;
  /** Set only when the document is fully valid: the desired state is made of these. */
  resource?: LoadedResource;
  locator: Locator;
  /** Whether `spec.traffic` was written (the default's errors point elsewhere). */
  trafficWritten: boolean;
  /** Absolute path of the manifest file; relative data URIs resolve against its folder. */
  path: string;
}

export interface LoadOptions {
  /**
   * Check references and the dependency graph across resources (default). Off for a single
   * manifest used on its own, e.g. `mlform train --spec run.yaml`.
   */
  references?: boolean;
  /** Operator-set bounds on the files manifests may name (SECURITY.md); never from a manifest. */
  trust?: TrustOptions;
  /**
   * Told the project and the trust roots as soon as mlform.yaml is loaded and valid, and awaited
   * before the manifests are read, so that a caller can start slow work that needs only the
   * project (a plan starts observing the cloud: controller/cli/project.ts). The manifests are then
   * read with a turn of the event loop before each file, so that requests go out and answers are
   * handled meanwhile. It must not throw.
   */
  onProject?: (project: LoadedProject, roots: { treeRoot: string; dataRoots: string[] }) => Promise<void>;
}

export interface TrustOptions {
  /** Folder every referenced file must resolve inside; default: the project's tree root. */
  treeRoot?: string;
  /** Further folders data may be read from. */
  dataRoots?: readonly string[];
}

/**
 * Never rejects: an exception anywhere in loading (a bug, or an input that gets past every limit)
 * becomes the diagnostic `manifests-unloadable` with an empty desired state, so the CLI prints a
 * positioned-or-named error and the controller reports a bad commit and keeps its last good state.
 */
export async function loadManifests(
  paths: readonly string[],
  options: LoadOptions = {},
): Promise<LoadResult> {
  try {
    return await loadManifestsUnguarded(paths, options);
  } catch (e) {
    return {
      desired: {
        resources: [],
        graph: { order: [], dependsOn: new Map() },
        files: [],
        treeRoot: resolve(options.trust?.treeRoot ?? paths[0] ?? '.'),
        dataRoots: [],
      },
      diagnostics: [
        // The name only: a message or stack could quote manifest text or the host's file layout.
        error(
          'manifests-unloadable',
          `the manifests in ${paths.join(', ')} could not be loaded: ${e instanceof Error ? e.name : 'error'}`,
          {
            hint: 'simplify the manifests (size, number of resources, dependsOn chains); if they are ordinary, please report this',
          },
        ),
      ],
    };
  }
}

async function loadManifestsUnguarded(paths: readonly string[], options: LoadOptions): Promise<LoadResult> {
  const collected = await collectFiles(paths, { stopAt: options.trust?.treeRoot });
  const diagnostics: Diagnostic[] = [...collected.diagnostics];
  const roots = await resolveTrustRoots(options.trust, await anchorFolder(collected.projectFiles, paths));
  // Before anything is opened: a link pointing out of the tree is refused, never read.
  const projectFiles = await keepFilesInTree(collected.projectFiles, roots, diagnostics);
  const project = await loadProject(projectFiles, diagnostics);
  // As soon as the project is known: checking a thousand manifests' paths takes a while.
  if (project && options.onProject)
    await options.onProject(project, { treeRoot: roots.realTreeRoot, dataRoots: roots.realDataRoots });
  const manifestFiles = await keepFilesInTree(collected.manifests, roots, diagnostics);

  const candidates: Candidate[] = [];
  // Files are read with bounded concurrency so that I/O overlaps parsing; results keep file order.
  const limit = pLimit(READ_CONCURRENCY);
  const perFile = await Promise.all(
    manifestFiles.map((file) =>
      limit(async () => {
        // Reading is synchronous: without a turn of the event loop before each file, requests
        // started by `onProject` would not go out (each needs several turns) until all are read.
        if (options.onProject) await turnEventLoop();
        const local: Diagnostic[] = [];
        return { candidates: await loadFileSafely(file, local), diagnostics: local };
      }),
    ),
  );
  for (const result of perFile) {
    candidates.push(...result.candidates);
    diagnostics.push(...result.diagnostics);
  }

  const unique = rejectDuplicates(candidates, diagnostics);
  const crossChecks = options.references ?? true;
  if (crossChecks) checkReferences(unique, diagnostics);
  const graph = checkGraph(unique, crossChecks ? diagnostics : []);
  diagnostics.push(...(await checkLocalFiles(unique, roots)));
  const invalid = new Set(
    diagnostics.filter((d) => d.severity === 'error' && d.address).map((d) => d.address),
  );

  return {
    desired: {
      project,
      // A resource with any error (its own or a cross-resource one) never reaches the desired state.
      resources: unique.flatMap((c) => (c.resource && !invalid.has(c.address) ? [c.resource] : [])),
      graph,
      files: manifestFiles.map(displayPath),
      treeRoot: roots.realTreeRoot,
      dataRoots: roots.realDataRoots,
    },
    diagnostics: diagnostics.sort(byPosition),
  };
}

/**
 * Validates one in-memory document (a manifest given as JSON by a program, e.g. the training
 * container's environment). Diagnostics carry field paths but no positions.
 */
export function loadResourceValue(
  value: unknown,
  file: string,
): { resource?: LoadedResource; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const candidate = loadDocument(
    { index: 0, value, line: 1, col: 1 },
    () => ({ file }),
    { file, path: file },
    diagnostics,
  );
  return { resource: hasErrors(diagnostics) ? undefined : candidate?.resource, diagnostics };
}

async function loadProject(files: string[], diagnostics: Diagnostic[]): Promise<LoadedProject | undefined> {
  if (files.length > 1) {
    diagnostics.push(
      error(
        'multiple-projects',
        `found ${files.length} project files: ${files.map(displayPath).join(', ')}`,
        {
          file: displayPath(files[1]),
          line: 1,
          col: 1,
          hint: 'a manifest tree has one mlform.yaml at its root; validate each project separately',
        },
      ),
    );
  }
  const path = files[0];
  if (!path) return undefined;
  const file = displayPath(path);
  const source = await readManifestFile(path, file);
  if (!source.ok) {
    diagnostics.push(source.diagnostic);
    return undefined;
  }
  const parsed = parseYamlFile(source.text, file);
  diagnostics.push(...parsed.diagnostics);
  const doc = parsed.documents.find((d) => d.value !== undefined);
  if (!doc) {
    if (!hasErrors(parsed.diagnostics)) {
      diagnostics.push(
        error('empty-file', `${file} is empty`, {
          file,
          line: 1,
          col: 1,
          hint: 'add at least `stack: <name>`',
        }),
      );
    }
    return undefined;
  }
  const locator = locatorFor(file, doc.doc, parsed.lineCounter);
  if (!isRecord(doc.value)) {
    diagnostics.push(
      error('not-a-mapping', `${file} must be a mapping with \`stack\` and \`provider\``, locator([])),
    );
    return undefined;
  }
  const issues = validateAgainstSchema('project', doc.value);
  for (const issue of issues) diagnostics.push({ ...issue, ...locator(issue.path, issue.target) });
  if (issues.length > 0) return undefined;
  const config = doc.value as unknown as ProjectConfig;
  const semantic = checkProjectConfig(config);
  for (const d of semantic) diagnostics.push({ ...d, ...locator(d.path ?? []) });
  return semantic.length > 0 ? undefined : { config, file, dir: dirname(path) };
}

/** The folder the default tree root is found from: mlform.yaml's, else the first path's. */
async function anchorFolder(projectFiles: readonly string[], paths: readonly string[]): Promise<string> {
  if (projectFiles[0]) return dirname(projectFiles[0]);
  const first = resolve(paths[0] ?? '.');
  return (await stat(first).catch(() => undefined))?.isDirectory() ? first : dirname(first);
}

/**
 * Files named by schema-valid documents (even those with other errors: all problems are reported
 * together), each checked against the trust roots at its field.
 */
async function checkLocalFiles(candidates: Candidate[], roots: TrustRoots): Promise<Diagnostic[]> {
  const checked = await Promise.all(
    candidates.map(async (c) =>
      c.manifest ? { c, found: await checkFileFields(c.manifest, c.path, roots) } : undefined,
    ),
  );
  return checked.flatMap((x) =>
    x ? x.found.map((d) => ({ ...d, address: x.c.address, ...x.c.locator(d.path ?? []) })) : [],
  );
}

/**
 * A file whose reading throws (a bug, or an input that gets past the YAML limits) is one
 * diagnostic about that file, not a stack trace that ends the whole load.
 */
async function loadFileSafely(path: string, diagnostics: Diagnostic[]): Promise<Candidate[]> {
  try {
    return await loadFile(path, diagnostics);
  } catch (e) {
    const file = displayPath(path);
    diagnostics.push(
      error('file-unloadable', `${file} could not be loaded: ${e instanceof Error ? e.name : 'error'}`, {
        file,
        hint: 'simplify the file (YAML nesting, aliases, size); if it is ordinary, please report this',
      }),
    );
    return [];
  }
}

async function loadFile(path: string, diagnostics: Diagnostic[]): Promise<Candidate[]> {
  const file = displayPath(path);
  const source = await readManifestFile(path, file);
  if (!source.ok) {
    diagnostics.push(source.diagnostic);
    return [];
  }
  const where = { file, path };
  const locators = lazyLocators(file, source.text);
  const fast = fastParse(source.text);
  if (fast) {
    const local: Diagnostic[] = [];
    const out: Candidate[] = [];
    for (const doc of fast) {
      const candidate = loadDocument(doc, locators(doc.index), where, local);
      if (candidate) out.push(candidate);
    }
    // Any problem: redo the file on the slow path, which has exact positions and YAML checks.
    if (local.length === 0) return out;
  }
  const parsed = parseYamlFile(source.text, file);
  diagnostics.push(...parsed.diagnostics);
  const nonEmpty = parsed.documents.filter((d) => d.value !== undefined);
  if (nonEmpty.length === 0 && !hasErrors(parsed.diagnostics)) {
    diagnostics.push(
      error('empty-file', `${file} contains no YAML documents`, {
        file,
        line: 1,
        col: 1,
        hint: 'add a manifest (apiVersion, kind, metadata, spec) or delete the file',
      }),
    );
  }
  const out: Candidate[] = [];
  for (const doc of nonEmpty) {
    const candidate = loadDocument(doc, locatorFor(file, doc.doc, parsed.lineCounter), where, diagnostics);
    if (candidate) out.push(candidate);
  }
  return out;
}

/**
 * Locators for the documents of a fast-path file: the file is parsed with `yaml` only if a
 * cross-resource check (reference, duplicate, cycle) needs a position in it.
 */
function lazyLocators(file: string, text: string): (index: number) => Locator {
  let parsed: ReturnType<typeof parseYamlFile> | undefined;
  return (index) => (path, target) => {
    parsed ??= parseYamlFile(text, file);
    const doc = parsed.documents.find((d) => d.index === index);
    return doc ? locatorFor(file, doc.doc, parsed.lineCounter)(path, target) : { file, line: 1, col: 1 };
  };
}

function loadDocument(
  doc: { index: number; value: unknown; line: number; col: number },
  locator: Locator,
  where: { file: string; path: string },
  diagnostics: Diagnostic[],
): Candidate | undefined {
  const value = doc.value;
  const docLabel = `document ${doc.index + 1}`;
  if (!isRecord(value)) {
    diagnostics.push(
      error('not-a-mapping', `${docLabel} is not a mapping`, {
        ...locator([]),
        hint: 'a manifest is a mapping with apiVersion, kind, metadata and spec',
      }),
    );
    return undefined;
  }
  const name =
    isRecord(value.metadata) && typeof value.metadata.name === 'string' ? value.metadata.name : undefined;
  const address = (kind: string) => (name ? `${kind}/${name}` : undefined);

  let ok = true;
  if (value.apiVersion === undefined) {
    diagnostics.push(
      error('missing-field', `${docLabel} has no apiVersion`, {
        ...locator([]),
        hint: `add \`apiVersion: ${API_VERSION}\``,
      }),
    );
    ok = false;
  } else if (value.apiVersion !== API_VERSION) {
    diagnostics.push(
      error('unknown-api-version', `unknown apiVersion ${JSON.stringify(value.apiVersion)}`, {
        ...locator(['apiVersion']),
        hint: `this version of mlform reads \`apiVersion: ${API_VERSION}\``,
      }),
    );
    ok = false;
  }
  if (value.kind === undefined) {
    diagnostics.push(
      error('missing-kind', `${docLabel} has no kind`, {
        ...locator([]),
        hint: `add \`kind:\` with one of ${KINDS.join(', ')}`,
      }),
    );
    return undefined;
  }
  if (!isKind(value.kind)) {
    const written = String(value.kind);
    diagnostics.push(
      error('unknown-kind', `unknown kind ${JSON.stringify(value.kind)}`, {
        ...locator(['kind']),
        hint: didYouMean(written, KINDS) ?? `known kinds: ${KINDS.join(', ')}`,
      }),
    );
    return undefined;
  }
  if (!ok) return undefined;
  const kind = value.kind;
  const def = KIND_DEFINITIONS[kind] as KindDefinition<Kind>;
  const at = (d: Diagnostic, target: 'key' | 'value' = 'value'): Diagnostic => ({
    ...d,
    address: d.address ?? address(kind),
    ...locator(d.path ?? [], target),
  });

  if (name !== undefined) {
    for (const d of checkName(name, ['metadata', 'name'])) diagnostics.push(at(d));
  }
  // Read before validation fills defaults in.
  const trafficWritten = isRecord(value.spec) && value.spec.traffic !== undefined;
  const issues = validateAgainstSchema(kind, value);
  for (const issue of issues) diagnostics.push(at(issue, issue.target));
  // Even an invalid document names a resource: others may refer to it without a second error.
  const base = {
    kind,
    name: name ?? '',
    address: addressOf(kind, name ?? ''),
    locator,
    trafficWritten,
    path: where.path,
  };
  if (name === undefined) return undefined;
  if (issues.length > 0) return base;

  const manifest = value as unknown as AnyManifest;
  const semantic = def.check(manifest.spec);
  for (const d of semantic) diagnostics.push(at(d));
  if (checkName(manifest.metadata.name, []).length > 0 || hasErrors(semantic)) return { ...base, manifest };

  const normalized = { ...manifest, spec: def.normalize(manifest.spec) } as AnyManifest;
  return {
    ...base,
    manifest,
    resource: {
      address: base.address,
      kind,
      name,
      manifest: normalized,
      // A TrainingRun's cost hint (`resources.expectedDuration`) is not part of its identity.
      specHash: specHash(
        normalized.kind === 'TrainingRun' ? hashedRunSpec(normalized.spec) : normalized.spec,
      ),
      source: { file: where.file, path: where.path, document: doc.index, line: doc.line, col: doc.col },
    },
  };
}

function rejectDuplicates(candidates: Candidate[], diagnostics: Diagnostic[]): Candidate[] {
  const first = new Map<string, Candidate>();
  const kept: Candidate[] = [];
  for (const c of candidates) {
    const previous = first.get(c.address);
    if (previous) {
      const p = previous.locator(['metadata', 'name']);
      diagnostics.push(
        error('duplicate-name', `${c.kind} "${c.name}" is defined twice`, {
          ...c.locator(['metadata', 'name']),
          address: c.address,
          path: ['metadata', 'name'],
          hint: `first defined at ${p.file}:${p.line}:${p.col}; rename one of them`,
        }),
      );
      continue;
    }
    first.set(c.address, c);
    kept.push(c);
  }
  return kept;
}

/**
 * "Did you mean" compares a name with every candidate: past this many dangling references a commit
 * of thousands would make that quadratic, and the first ones say what is wrong.
 */
const MAX_SUGGESTIONS = 20;
/** Names listed in a hint ("known: a, b"); a longer list would repeat the whole stack per error. */
const MAX_NAMES_LISTED = 10;

function checkReferences(candidates: Candidate[], diagnostics: Diagnostic[]): void {
  const byAddress = new Map(candidates.map((c) => [c.address, c]));
  const namesByKind = new Map<Kind, string[]>();
  for (const c of candidates) {
    const names = namesByKind.get(c.kind);
    if (names) names.push(c.name);
    else namesByKind.set(c.kind, [c.name]);
  }
  const namesOf = (kind: Kind) => namesByKind.get(kind) ?? [];
  let suggestions = 0;
  for (const c of candidates) {
    const { manifest } = c;
    if (!manifest) continue;
    const def = KIND_DEFINITIONS[manifest.kind] as KindDefinition<Kind>;
    for (const ref of def.references(manifest.spec)) {
      if (byAddress.has(addressOf(ref.kind, ref.name))) continue;
      const known = namesOf(ref.kind);
      const suggestion = suggestions++ < MAX_SUGGESTIONS ? didYouMean(ref.name, known) : undefined;
      diagnostics.push(
        error('dangling-reference', `${ref.kind} "${ref.name}" does not exist`, {
          ...c.locator(ref.path),
          address: c.address,
          path: ref.path,
          hint:
            suggestion ??
            (known.length === 0
              ? `define a ${ref.kind} named "${ref.name}"`
              : known.length <= MAX_NAMES_LISTED
                ? `known: ${known.join(', ')}`
                : `define a ${ref.kind} named "${ref.name}", or name one of the ${known.length} defined`),
        }),
      );
    }
    if (manifest.kind === 'Schedule') {
      for (const d of checkTriggerEndpoints(manifest.spec, (name) => {
        const found = byAddress.get(addressOf('DeployedEndpoint', name))?.manifest;
        return found?.kind === 'DeployedEndpoint' ? found.spec : undefined;
      })) {
        diagnostics.push({ ...d, address: c.address, ...c.locator(d.path ?? []) });
      }
    }
    if (manifest.kind === 'DeployedEndpoint') {
      const model = byAddress.get(addressOf('RegisteredModel', manifest.spec.model))?.manifest as
        RegisteredModel | undefined;
      if (model) {
        for (const d of checkTrafficAgainstModel(
          manifest.spec,
          model.spec,
          model.metadata.name,
          !c.trafficWritten,
        )) {
          diagnostics.push({ ...d, address: c.address, ...c.locator(d.path ?? []) });
        }
      }
    }
  }
}

function checkGraph(candidates: Candidate[], diagnostics: Diagnostic[]): DependencyGraph {
  const edges = new Map<string, string[]>();
  const byAddress = new Map(candidates.map((c) => [c.address, c]));
  const edgePath = new Map<string, FieldPath>();
  let suggestions = 0;
  for (const c of candidates) {
    const { manifest, address } = c;
    if (!manifest) continue;
    const def = KIND_DEFINITIONS[manifest.kind] as KindDefinition<Kind>;
    const deps: string[] = [];
    for (const ref of def.references(manifest.spec)) {
      deps.push(addressOf(ref.kind, ref.name));
      edgePath.set(`${address}->${addressOf(ref.kind, ref.name)}`, ref.path);
    }
    (manifest.metadata.dependsOn ?? []).forEach((dep, i) => {
      const path = ['metadata', 'dependsOn', i];
      if (dep === address) {
        diagnostics.push(
          error('dependency-cycle', `${address} depends on itself`, { ...c.locator(path), address, path }),
        );
        return;
      }
      if (!byAddress.has(dep)) {
        const [kind] = dep.split('/');
        diagnostics.push(
          error('dangling-reference', `dependsOn: ${dep} does not exist`, {
            ...c.locator(path),
            address,
            path,
            hint:
              suggestions++ < MAX_SUGGESTIONS
                ? (didYouMean(
                    dep,
                    candidates.filter((o) => o.kind === kind || !isKind(kind)).map((o) => o.address),
                  ) ?? undefined)
                : undefined,
          }),
        );
        return;
      }
      deps.push(dep);
      edgePath.set(`${address}->${dep}`, path);
    });
    edges.set(address, deps);
  }
  const { graph, cycles, moreCycles, tooDeep } = buildDependencyGraph(
    [...byAddress.keys()],
    edges,
    MAX_DEPENDENCY_DEPTH,
  );
  for (const cycle of cycles) {
    const [from, to] = cycle;
    const c = byAddress.get(from);
    const path = edgePath.get(`${from}->${to}`) ?? [];
    diagnostics.push(
      error('dependency-cycle', `dependency cycle: ${shortChain(cycle)}`, {
        ...(c ? c.locator(path) : {}),
        address: from,
        path,
        hint:
          'remove one of the dependsOn entries that close the cycle' +
          (moreCycles > 0 ? ` (${moreCycles} more cycles not listed)` : ''),
      }),
    );
  }
  if (tooDeep) {
    const c = byAddress.get(tooDeep.node);
    const path = edgePath.get(`${tooDeep.node}->${tooDeep.via}`) ?? [];
    diagnostics.push(
      error(
        'dependency-chain-too-deep',
        `${tooDeep.node} is at the end of a chain of ${tooDeep.depth} resources that depend on each other; at most ${MAX_DEPENDENCY_DEPTH} are allowed`,
        {
          ...(c ? c.locator(path) : {}),
          address: tooDeep.node,
          path,
          hint: 'depend on the resources actually needed, not on a chain through every resource; apply runs a chain one resource at a time',
        },
      ),
    );
  }
  return graph;
}

/**
 * Resources in one chain of dependencies (references and `dependsOn`, the resource itself counted).
 * Real stacks are a handful deep (model -> run -> endpoint -> schedule); apply runs a chain one
 * resource after the other, so a chain of thousands is a mistake or an attack, not a plan.
 */
export const MAX_DEPENDENCY_DEPTH = 100;

/** A chain for a message: long ones keep their ends, so the message stays a line. */
function shortChain(chain: readonly string[], keep = 4): string {
  if (chain.length <= keep * 2 + 1) return chain.join(' -> ');
  const hidden = chain.length - keep * 2;
  return [...chain.slice(0, keep), `... (${hidden} more)`, ...chain.slice(-keep)].join(' -> ');
}

function locatorFor(file: string, doc: Document.Parsed, lineCounter: LineCounter): Locator {
  return (path, target = 'value') => ({ file, ...locate(doc, lineCounter, path, target) });
}

/** Reading order: by file, then line and column; diagnostics without a file first. */
function byPosition(a: Diagnostic, b: Diagnostic): number {
  if ((a.file ?? '') !== (b.file ?? '')) return (a.file ?? '') < (b.file ?? '') ? -1 : 1;
  return (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
