/**
 * Reading the operator policy (`--policy FILE`, `MLFORM_POLICY`): YAML or JSON (JSON is YAML),
 * one document, validated against `resources/policy.ts` with every problem at the policy file's own
 * `line:col`. The file is the operator's: it is never looked up in the manifest tree, and a path
 * that resolves inside the tree is refused, since whoever writes the tree would then write the
 * policy that bounds them.
 */
import { readFileSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { DesiredState } from '../../manifests/load.js';
import { locate, parseYamlFile, type ParsedFile } from '../../manifests/yaml-document.js';
import { error, formatPath, type Diagnostic, type FieldPath } from '../../resources/diagnostic.js';
import { PolicySchema, type Policy } from '../../resources/policy.js';
import { didYouMean } from '../../resources/suggest.js';
import { pinpointDiagnostics } from '../engine/diagnostic-positions.js';
import { checkPolicy, type LoadedPolicy } from '../engine/policy.js';

/** A policy is a page of rules; anything bigger is a mistake (or not a policy). */
const MAX_POLICY_BYTES = 256 * 1024;

export async function loadPolicyFile(
  file: string,
): Promise<{ policy?: LoadedPolicy; diagnostics: Diagnostic[] }> {
  const fail = (message: string, extra: Partial<Diagnostic> = {}) => ({
    diagnostics: [error('policy-file', message, { file, ...extra })],
  });
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) return fail(`the policy ${file} is not a file`);
    if (info.size > MAX_POLICY_BYTES) {
      return fail(`the policy ${file} is ${info.size} bytes; a policy is limited to ${MAX_POLICY_BYTES}`);
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    return fail(`cannot read the policy ${file} (${code})`, {
      hint: 'check --policy / MLFORM_POLICY; without a policy, remove the flag and the variable',
    });
  }

  const parsed = parseYamlFile(text, file);
  const problems = parsed.diagnostics.filter((d) => d.severity === 'error');
  if (problems.length > 0) return { diagnostics: problems.map((d) => ({ ...d, code: 'policy-file' })) };
  if (parsed.documents.length !== 1) {
    return fail(
      `the policy ${file} must hold exactly one YAML or JSON document, not ${parsed.documents.length}`,
    );
  }
  const [document] = parsed.documents;
  const value = document.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail(`the policy ${file} must be a mapping of rules`, { line: document.line, col: document.col });
  }

  const diagnostics: Diagnostic[] = [];
  const rules = Object.keys(PolicySchema.properties);
  for (const issue of Value.Errors(PolicySchema, value)) {
    const path = pointerToPath(issue.path);
    const unknown = issue.message === 'Unexpected property';
    const where = locate(document.doc, parsed.lineCounter, path, unknown ? 'key' : 'value');
    const name = path.length > 0 ? formatPath(path) : 'the policy';
    const suggestion = unknown && path.length === 1 ? didYouMean(String(path[0]), rules) : undefined;
    diagnostics.push(
      error(
        'policy-file',
        unknown
          ? `unknown policy rule "${name}"`
          : `policy ${name}: ${issue.message.replace(/^Expected/, 'expected')}`,
        {
          file,
          ...where,
          path,
          hint:
            suggestion ??
            (unknown
              ? `the rules are ${rules.filter((r) => r !== 'apiVersion' && r !== 'kind').join(', ')}`
              : describe(path)),
        },
      ),
    );
  }
  if (diagnostics.length > 0) return { diagnostics };
  return { policy: { policy: value as Policy, file }, diagnostics: [] };
}

/**
 * Refuses a policy inside the manifest tree (after symlinks, on both sides): the operator bounds
 * the tree, so the tree must not be able to write the bounds.
 */
export async function policyOutsideTree(file: string, treeRoot: string): Promise<Diagnostic[]> {
  const [policy, root] = await Promise.all([
    realpath(file).catch(() => file),
    realpath(treeRoot).catch(() => treeRoot),
  ]);
  const rel = relative(root, policy);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    return [
      error(
        'policy-in-tree',
        `the policy ${file} is inside the manifest tree ${treeRoot}, which commits can change`,
        {
          file,
          hint: 'keep the policy where only the operator writes it (e.g. /etc/mlform/policy.yaml, a mounted ConfigMap)',
        },
      ),
    ];
  }
  return [];
}

function pointerToPath(pointer: string): FieldPath {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(path: FieldPath): string | undefined {
  const rule = path[0];
  if (typeof rule !== 'string' || !(rule in PolicySchema.properties)) return undefined;
  const schema = PolicySchema.properties[rule as keyof typeof PolicySchema.properties] as {
    description?: string;
  };
  return schema.description;
}

/**
 * The policy checked against what was loaded: refused when it lives in the tree, then every
 * violation moved onto its field (`training.yaml:14:18`, `mlform.yaml:4:11`), as the loader's own
 * errors point. `treeRoot` is the operator's (the controller's checkout) or the project folder.
 */
export async function enforcePolicy(
  desired: DesiredState,
  loaded: LoadedPolicy,
  treeRoot: string,
): Promise<Diagnostic[]> {
  const inTree = await policyOutsideTree(loaded.file, treeRoot);
  if (inTree.length > 0) return inTree;
  const found = checkPolicy(desired, loaded);
  const texts = new Map<string, string | undefined>();
  const read = (file: string): string | undefined => {
    if (!texts.has(file)) {
      try {
        texts.set(file, readFileSync(resolve(file), 'utf8'));
      } catch {
        texts.set(file, undefined);
      }
    }
    return texts.get(file);
  };
  // Rules on mlform.yaml carry its file and a path but no document line: its only document's.
  const projectFile = desired.project?.file;
  const projectText = projectFile !== undefined ? read(projectFile) : undefined;
  const projectLine =
    projectFile !== undefined && projectText !== undefined
      ? parseYamlFile(projectText, projectFile).documents[0]?.line
      : undefined;
  const withLines = found.map((d) =>
    d.file === projectFile && d.line === undefined && projectLine !== undefined
      ? { ...d, line: projectLine }
      : d,
  );
  const parsed = new Map<string, ParsedFile | undefined>();
  const parse = (file: string): ParsedFile | undefined => {
    if (!parsed.has(file)) {
      const text = read(file);
      parsed.set(file, text === undefined ? undefined : parseYamlFile(text, file));
    }
    return parsed.get(file);
  };
  return pinpointDiagnostics(
    withLines.map((d) => asWritten(d, parse)),
    read,
  );
}

/**
 * The loader normalises (`every` becomes `cron`, a preset becomes `scaling`), so a rule on the
 * normalised field points at what the manifest actually says when the field itself is not written.
 */
const WRITTEN_AS: Readonly<Record<string, FieldPath>> = {
  'spec.cron': ['spec', 'every'],
  'spec.scaling.maxInstances': ['spec', 'preset'],
  'spec.scaling.minInstances': ['spec', 'preset'],
};

function asWritten(d: Diagnostic, parse: (file: string) => ParsedFile | undefined): Diagnostic {
  const alternative = d.path ? WRITTEN_AS[d.path.join('.')] : undefined;
  if (!alternative || !d.file || d.line === undefined || !d.path) return d;
  const doc = parse(d.file)?.documents.find((x) => x.line === d.line)?.doc;
  if (!doc || doc.hasIn(d.path) || !doc.hasIn(alternative)) return d;
  return { ...d, path: alternative };
}
