/**
 * RegisteredModels: `registry/<model>/` holds model.json, aliases.json and `versions/<N>/`, each a
 * copy of a run's artifact plus version.json (lineage). A version folder appears whole or not at
 * all: it is assembled under a hidden temp name, version.json last, then renamed into place; the
 * rename is also what claims the number, so two registrations cannot take the same one.
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { deployedEndpointAddress, registeredModelAddress, runRef } from '../../resources/address.js';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { isGcsUri, PRIVATE_DIR_MODE, toLocalPath } from '../../artifact/storage.js';
import {
  ownershipLabels,
  type MoveAliasRequest,
  type ObservedModel,
  type ObservedVersion,
  type ProviderContext,
  type PutModelRequest,
  type RegisterVersionRequest,
  type Response,
} from '../provider.js';
import {
  ALIAS_HISTORY_LIMIT,
  AliasesRecordSchema,
  type AliasMove,
  EndpointConfigSchema,
  ModelRecordSchema,
  VersionRecordSchema,
  type ModelRecord,
  type VersionRecord,
} from './records.js';
import { stateRoot, type LocalSettings } from './settings.js';
import {
  checkName,
  exists,
  FILES,
  foreign,
  listDir,
  listNumbered,
  listNumberedMany,
  readRecord,
  readRecords,
  removeDir,
  stateError,
  statePaths,
  writeJsonAtomic,
  type StatePaths,
} from './state-dir.js';

/** Training leftovers that are not part of a model: resume state and tuning trials. */
const NOT_COPIED = new Set(['checkpoint', 'trials']);

/** A temp folder this old is the remains of a crashed registration. */
const STALE_TEMP_MS = 10 * 60 * 1000;

function toObservedVersion(record: VersionRecord, dir: string): ObservedVersion {
  return {
    version: record.version,
    run: record.run,
    specHash: record.specHash,
    artifactUri: dir,
    metrics: record.metrics,
    baseline: record.baseline,
    ...(record.dataSha256 !== undefined && { dataSha256: record.dataSha256 }),
    ...(record.gitCommit !== undefined && { gitCommit: record.gitCommit }),
    createdAt: record.createdAt,
  };
}

async function readVersions(
  paths: StatePaths,
  model: string,
): Promise<{ versions: ObservedVersion[]; diagnostics: Diagnostic[] }> {
  const dirs = (await listNumbered(paths.versions(model))).map((n) => paths.version(model, n));
  const read = await readRecords(
    dirs.map((dir) => ({ path: join(dir, FILES.version), address: registeredModelAddress(model) })),
    VersionRecordSchema,
  );
  const out = { versions: [] as ObservedVersion[], diagnostics: [] as Diagnostic[] };
  read.forEach((result, i) => {
    if (result.status === 'ok') out.versions.push(toObservedVersion(result.value, dirs[i]));
    else if (result.status === 'corrupt') out.diagnostics.push(result.diagnostic);
  });
  return out;
}

/** A hand-edited file may hold more: only the newest moves are kept and shown. */
const recentMoves = (history: AliasMove[] | undefined): AliasMove[] =>
  (history ?? []).slice(-ALIAS_HISTORY_LIMIT);

async function readAliases(
  paths: StatePaths,
  model: string,
): Promise<{ aliases: Record<string, number>; history: AliasMove[]; diagnostics: Diagnostic[] }> {
  const result = await readRecord(
    join(paths.model(model), FILES.aliases),
    AliasesRecordSchema,
    registeredModelAddress(model),
  );
  if (result.status === 'ok')
    return { aliases: result.value.aliases, history: recentMoves(result.value.history), diagnostics: [] };
  return { aliases: {}, history: [], diagnostics: result.status === 'corrupt' ? [result.diagnostic] : [] };
}

export async function listModels(
  settings: LocalSettings,
  ctx: ProviderContext,
): Promise<Response & { items: ObservedModel[] }> {
  const paths = statePaths(stateRoot(settings, ctx));
  try {
    // Level by level, each level one batch of reads: models, then their version folders, then
    // every version.json and aliases.json together.
    const names = await listDir(paths.registry);
    const diagnostics: Diagnostic[] = [];
    const records = await readRecords(
      names.map((name) => ({
        path: join(paths.model(name), FILES.model),
        address: registeredModelAddress(name),
      })),
      ModelRecordSchema,
    );
    const models: ModelRecord[] = [];
    for (const result of records) {
      if (result.status === 'corrupt') diagnostics.push(result.diagnostic);
      else if (result.status === 'ok' && result.value.labels['mlform-stack'] === ctx.stack)
        models.push(result.value);
    }
    const numbers = await listNumberedMany(models.map((m) => paths.versions(m.name)));
    const versionDirs = models.flatMap((m, i) =>
      numbers[i].map((n) => ({ model: m.name, dir: paths.version(m.name, n) })),
    );
    const [versions, aliases] = await Promise.all([
      readRecords(
        versionDirs.map((v) => ({
          path: join(v.dir, FILES.version),
          address: registeredModelAddress(v.model),
        })),
        VersionRecordSchema,
      ),
      readRecords(
        models.map((m) => ({
          path: join(paths.model(m.name), FILES.aliases),
          address: registeredModelAddress(m.name),
        })),
        AliasesRecordSchema,
      ),
    ]);
    const byModel = new Map<string, ObservedVersion[]>(models.map((m) => [m.name, []]));
    versions.forEach((result, i) => {
      if (result.status === 'ok')
        byModel.get(versionDirs[i].model)?.push(toObservedVersion(result.value, versionDirs[i].dir));
      else if (result.status === 'corrupt') diagnostics.push(result.diagnostic);
    });
    const items = models.map((record, i): ObservedModel => {
      const alias = aliases[i];
      if (alias.status === 'corrupt') diagnostics.push(alias.diagnostic);
      return {
        name: record.name,
        specHash: record.specHash,
        spec: record.spec,
        annotations: record.annotations,
        versions: byModel.get(record.name) ?? [],
        aliases: alias.status === 'ok' ? alias.value.aliases : {},
        aliasHistory: alias.status === 'ok' ? recentMoves(alias.value.history) : [],
      };
    });
    return { items, diagnostics };
  } catch (e) {
    return { items: [], diagnostics: [stateError('RegisteredModel', 'listing models', e)] };
  }
}

type ModelLookup =
  { ok: true; record: ModelRecord; paths: StatePaths } | { ok: false; diagnostics: Diagnostic[] };

async function lookUpModel(
  settings: LocalSettings,
  ctx: ProviderContext,
  name: string,
): Promise<ModelLookup> {
  const address = registeredModelAddress(name);
  const invalid = checkName(name, 'RegisteredModel', address);
  if (invalid) return { ok: false, diagnostics: [invalid] };
  const paths = statePaths(stateRoot(settings, ctx));
  const result = await readRecord(join(paths.model(name), FILES.model), ModelRecordSchema, address);
  if (result.status === 'missing') {
    return {
      ok: false,
      diagnostics: [
        error('local-model-not-found', `RegisteredModel "${name}" does not exist`, {
          address,
          hint: 'apply the RegisteredModel before registering versions into it',
        }),
      ],
    };
  }
  if (result.status === 'corrupt') return { ok: false, diagnostics: [result.diagnostic] };
  const owner = foreign(result.value.labels, ctx.stack, address);
  if (owner) return { ok: false, diagnostics: [owner] };
  return { ok: true, record: result.value, paths };
}

export async function putModel(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: PutModelRequest,
): Promise<Response> {
  const address = registeredModelAddress(req.name);
  const invalid = checkName(req.name, 'RegisteredModel', address);
  if (invalid) return { diagnostics: [invalid] };
  const paths = statePaths(stateRoot(settings, ctx));
  const file = join(paths.model(req.name), FILES.model);
  try {
    const existing = await readRecord(file, ModelRecordSchema, address);
    // Fails closed: never written over a damaged record (the operator repairs or forgets it).
    if (existing.status === 'corrupt') return { diagnostics: [existing.diagnostic] };
    if (existing.status === 'ok') {
      const owner = foreign(existing.value.labels, ctx.stack, address);
      if (owner) return { diagnostics: [owner] };
    }
    // A damaged model.json is replaced: it holds only what this put writes anyway.
    const now = settings.now().toISOString();
    const record: ModelRecord = {
      formatVersion: 1,
      name: req.name,
      specHash: req.specHash,
      labels: { ...req.labels, ...ownershipLabels(ctx.stack, 'RegisteredModel', req.name, req.specHash) },
      annotations: req.annotations,
      spec: req.spec,
      createdAt: existing.status === 'ok' ? existing.value.createdAt : now,
      updatedAt: now,
    };
    await writeJsonAtomic(file, record);
    return { diagnostics: [] };
  } catch (e) {
    return { diagnostics: [stateError(address, 'writing the model', e)] };
  }
}

export async function deleteModel(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: { name: string },
): Promise<Response> {
  try {
    const found = await lookUpModel(settings, ctx, req.name);
    if (!found.ok) {
      // Deleting what is not there is done (idempotent).
      return { diagnostics: found.diagnostics.filter((d) => d.code !== 'local-model-not-found') };
    }
    await removeDir(found.paths.model(req.name));
    return { diagnostics: [] };
  } catch (e) {
    return { diagnostics: [stateError(registeredModelAddress(req.name), 'deleting the model', e)] };
  }
}

async function removeStaleTemps(versionsDir: string, now: number): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(versionsDir);
  } catch {
    return;
  }
  for (const entry of entries.filter((e) => e.startsWith('.tmp-'))) {
    const path = join(versionsDir, entry);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { recursive: true, force: true });
  }
}

const isTaken = (e: unknown): boolean =>
  e instanceof Error && 'code' in e && (e.code === 'EEXIST' || e.code === 'ENOTEMPTY');

export async function registerVersion(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: RegisterVersionRequest,
): Promise<Response & { version?: ObservedVersion }> {
  const address = registeredModelAddress(req.model);
  const { run } = req;
  const runText = runRef(run);
  try {
    const found = await lookUpModel(settings, ctx, req.model);
    if (!found.ok) return { diagnostics: found.diagnostics };
    const { paths } = found;

    // Idempotent by run: a registration repeated after a crash finds its version.
    const { versions, diagnostics } = await readVersions(paths, req.model);
    const same = versions.find((v) => v.run.name === run.name && v.run.number === run.number);
    if (same) return { version: same, diagnostics };

    if (run.state !== 'succeeded' || !run.artifactUri) {
      return {
        diagnostics: [
          error(
            'local-run-not-succeeded',
            `run ${runText} is ${run.state}; only a succeeded run can be registered`,
            {
              address,
            },
          ),
        ],
      };
    }
    if (isGcsUri(run.artifactUri)) {
      return {
        diagnostics: [
          error(
            'local-remote-artifact',
            `run ${runText} has its artifact in ${run.artifactUri}; the local registry copies local artifacts`,
            {
              address,
            },
          ),
        ],
      };
    }
    const source = toLocalPath(run.artifactUri, ctx.projectDir);
    if (!(await exists(join(source, 'run.json')))) {
      return {
        diagnostics: [
          error(
            'local-artifact-incomplete',
            `the artifact of ${runText} in ${source} is incomplete (no run.json)`,
            {
              address,
            },
          ),
        ],
      };
    }

    const versionsDir = paths.versions(req.model);
    const nowDate = settings.now();
    await removeStaleTemps(versionsDir, nowDate.getTime());
    const temp = join(versionsDir, `.tmp-${randomUUID()}`);
    // cp would create it with the default mode; versions are as private as the artifact.
    await mkdir(versionsDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    await cp(source, temp, {
      recursive: true,
      filter: (from) => !NOT_COPIED.has(relative(source, from).split(/[\\/]/)[0] ?? ''),
    });
    let number = (versions.at(-1)?.version ?? 0) + 1;
    const numbers = await listNumbered(versionsDir);
    number = Math.max(number, (numbers.at(-1) ?? 0) + 1);
    for (let tries = 0; ; tries++) {
      const record: VersionRecord = {
        formatVersion: 1,
        model: req.model,
        version: number,
        run: { name: run.name, number: run.number },
        specHash: run.specHash,
        labels: {
          ...ownershipLabels(ctx.stack, 'RegisteredModel', req.model, run.specHash),
          'mlform-run': `${run.name}-${run.number}`,
        },
        metrics: run.metrics ?? {},
        baseline: run.baseline ?? {},
        ...(run.dataSha256 !== undefined && { dataSha256: run.dataSha256 }),
        ...(run.gitCommit !== undefined && { gitCommit: run.gitCommit }),
        createdAt: nowDate.toISOString(),
      };
      // Last into the temp folder: a version folder with version.json is complete.
      await writeJsonAtomic(join(temp, FILES.version), record);
      const target = paths.version(req.model, number);
      try {
        await rename(temp, target);
        ctx.log?.(`registered ${req.model} v${number} from ${runText}`);
        return { version: toObservedVersion(record, target), diagnostics };
      } catch (e) {
        if (!isTaken(e) || tries >= 20) {
          await rm(temp, { recursive: true, force: true });
          throw e;
        }
        number++;
      }
    }
  } catch (e) {
    return { diagnostics: [stateError(address, `registering ${runText}`, e)] };
  }
}

export async function moveAlias(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: MoveAliasRequest,
): Promise<Response> {
  const address = registeredModelAddress(req.model);
  try {
    const found = await lookUpModel(settings, ctx, req.model);
    if (!found.ok) return { diagnostics: found.diagnostics };
    const { paths } = found;
    if (!(await exists(join(paths.version(req.model, req.version), FILES.version)))) {
      return {
        diagnostics: [
          error(
            'local-version-not-found',
            `${req.model} has no version ${req.version} for alias "${req.alias}"`,
            {
              address,
            },
          ),
        ],
      };
    }
    const current = await readAliases(paths, req.model);
    if (current.diagnostics.length > 0) return { diagnostics: current.diagnostics };
    const previous = Object.hasOwn(current.aliases, req.alias) ? current.aliases[req.alias] : null;
    // Re-pointing an alias at the version it already names is no move: the history stays as it is.
    const history =
      previous === req.version
        ? current.history
        : [
            ...current.history,
            { alias: req.alias, version: req.version, previous, at: settings.now().toISOString() },
          ].slice(-ALIAS_HISTORY_LIMIT);
    await writeJsonAtomic(join(paths.model(req.model), FILES.aliases), {
      formatVersion: 1,
      aliases: { ...current.aliases, [req.alias]: req.version },
      history,
    });
    return { diagnostics: [] };
  } catch (e) {
    return { diagnostics: [stateError(address, `moving alias ${req.alias}`, e)] };
  }
}

/** Endpoints whose serving config loads this folder (they would lose it at their next restart). */
async function endpointsServing(paths: StatePaths, dir: string): Promise<string[]> {
  const names = await listDir(paths.endpoints);
  const users = await Promise.all(
    names.map(async (name) => {
      const config = await readRecord(
        join(paths.endpoint(name), FILES.servingConfig),
        EndpointConfigSchema,
        name,
      );
      return config.status === 'ok' && config.value.versions.some((v) => resolve(v.uri) === dir)
        ? name
        : undefined;
    }),
  );
  return users.filter((n): n is string => n !== undefined);
}

export async function deleteVersion(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: { model: string; version: number },
): Promise<Response> {
  const address = registeredModelAddress(req.model);
  try {
    const found = await lookUpModel(settings, ctx, req.model);
    if (!found.ok) return { diagnostics: found.diagnostics };
    const { paths } = found;
    const dir = paths.version(req.model, req.version);
    if (!(await exists(dir))) return { diagnostics: [] };
    const { aliases } = await readAliases(paths, req.model);
    const pointing = Object.entries(aliases)
      .filter(([, v]) => v === req.version)
      .map(([alias]) => alias);
    const serving = await endpointsServing(paths, dir);
    if (pointing.length > 0 || serving.length > 0) {
      const users = [...pointing.map((a) => `alias "${a}"`), ...serving.map(deployedEndpointAddress)].join(
        ', ',
      );
      return {
        diagnostics: [
          error('local-version-in-use', `${req.model} v${req.version} is still used by ${users}`, {
            address,
            hint: 'move the alias or the endpoint traffic to another version first',
          }),
        ],
      };
    }
    await removeDir(dir);
    return { diagnostics: [] };
  } catch (e) {
    return { diagnostics: [stateError(address, `deleting v${req.version}`, e)] };
  }
}
