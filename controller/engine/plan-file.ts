/**
 * Saved plans (`plan -out FILE`, `apply FILE`): the Plan as JSON. Loading checks the format version
 * and validates the whole shape against the TypeBox schema with ajv, so apply never executes a
 * truncated, hand-edited or foreign file. Freshness is checked separately (`checkPlanFresh`).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type AjvModule from 'ajv';
import type { ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import { isInside, realLocation } from '../../manifests/tree-root.js';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { errorMessage } from '../../resources/error-message.js';
import { PLAN_FORMAT_VERSION, PlanSchema, type Plan } from './change.js';

// ajv ships CommonJS with a default export; under NodeNext the constructor sits on `.default`.
// Loaded when a plan file is read, not by every `mlform plan` (~20 ms of its start-up).
const newAjv = (options: object) =>
  new (createRequire(import.meta.url)('ajv') as typeof AjvModule).default(options);

let validator: ValidateFunction | undefined;
function validatePlan(value: unknown): ValidateFunction['errors'] {
  // Plain JSON Schema (TypeBox's symbols dropped); no defaults filled: a plan is taken as written.
  validator ??= newAjv({ allErrors: true, strict: false }).compile(JSON.parse(JSON.stringify(PlanSchema)));
  return validator(value) ? null : (validator.errors ?? []);
}

export const serializePlan = (plan: Plan): string => `${JSON.stringify(plan, null, 2)}\n`;

export function parsePlan(text: string, file: string): { plan?: Plan; diagnostics: Diagnostic[] } {
  const invalid = (message: string, hint?: string) => ({
    diagnostics: [error('plan-file-invalid', message, { file, ...(hint ? { hint } : {}) })],
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return invalid(`${file} is not a saved plan: ${errorMessage(e)}`);
  }
  const version = (value as { formatVersion?: unknown } | null)?.formatVersion;
  if (version !== PLAN_FORMAT_VERSION) {
    return invalid(
      `${file} has plan format ${JSON.stringify(version ?? null)}; this mlform reads format ${PLAN_FORMAT_VERSION}`,
      'make the plan again with this version of mlform',
    );
  }
  const errors = validatePlan(value);
  if (errors) {
    const shown = errors
      .slice(0, 5)
      .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
      .join('; ');
    return invalid(
      `${file} is not a valid saved plan: ${shown}`,
      'saved plans must not be edited; make it again',
    );
  }
  return { plan: value as Plan, diagnostics: [] };
}

/**
 * Written to a temporary file and renamed, so an interrupted save never leaves half a plan. Mode
 * 0600 from creation (`wx`: a planted file or link at the temporary name is never written through),
 * and the rename replaces whatever was at `path`, a link included, rather than writing into it.
 */
export async function savePlanFile(path: string, plan: Plan): Promise<void> {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, serializePlan(plan), { mode: 0o600, flag: 'wx' });
    await rename(temporary, path);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}

/**
 * Whether `apply`'s first path is a saved plan rather than a manifest path, by what the file holds,
 * whatever its name (`plan.out`, `tfplan`): a plan is one JSON object with `formatVersion` and no
 * `apiVersion`/`kind` (a manifest, even one written as JSON, has those). A `*.json` file that is no
 * manifest counts as a plan too, so a truncated or edited plan is reported as one. Directories and
 * missing paths are manifest paths; the loader reports them.
 */
export async function isSavedPlanFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile() || info.size > MAX_PLAN_FILE_BYTES) return false;
  const text = await readFile(path, 'utf8').catch(() => '');
  if (!text.trimStart().startsWith('{')) return false;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return /\.json$/i.test(path);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  if (keys.includes('apiVersion') || keys.includes('kind')) return false;
  return keys.includes('formatVersion') || /\.json$/i.test(path);
}

/** Far above any real plan (thousands of resources); a bigger file is taken for a manifest path. */
const MAX_PLAN_FILE_BYTES = 256 * 1024 * 1024;

export async function loadPlanFile(path: string): Promise<{ plan?: Plan; diagnostics: Diagnostic[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      diagnostics: [
        error(
          'plan-file-unreadable',
          `cannot read ${path}${code === 'ENOENT' ? ': no such file' : `: ${String(e)}`}`,
          {
            file: path,
          },
        ),
      ],
    };
  }
  return parsePlan(text, path);
}

/**
 * The paths a saved plan carries (the manifest of each run it launches, the template of each
 * schedule it writes) are checked like manifest paths: absolute, and resolving (after symbolic
 * links) inside the tree root the manifests were loaded from. The file is written by whoever could
 * write to it, so a path pointing elsewhere is refused before anything is compared or executed.
 */
export async function checkPlanPaths(plan: Plan, treeRoot: string, file: string): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const { address, field, path } of planPaths(plan)) {
    const real = isAbsolute(path) ? await realLocation(path) : undefined;
    if (real && isInside(real, treeRoot)) continue;
    out.push(
      error(
        'plan-path-outside-tree',
        `${file}: ${address} ${field} is ${JSON.stringify(path)}, ${real ? `outside the manifest tree (${treeRoot})` : 'not an absolute path'}`,
        { file, hint: 'saved plans must not be edited; make it again with `mlform plan --out FILE`' },
      ),
    );
  }
  return out;
}

function planPaths(plan: Plan): { address: string; field: string; path: string }[] {
  const out: { address: string; field: string; path: string }[] = [];
  for (const c of plan.changes) {
    if (c.kind === 'TrainingRun' && (c.action === 'create' || c.action === 'replace'))
      out.push({ address: c.address, field: 'after.manifestPath', path: c.after.manifestPath });
    if (c.kind === 'Schedule' && (c.action === 'create' || c.action === 'update'))
      out.push({
        address: c.address,
        field: 'after.template.manifestPath',
        path: c.after.template.manifestPath,
      });
  }
  return out;
}
