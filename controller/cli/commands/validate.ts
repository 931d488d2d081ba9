/**
 * `mlform validate`: manifests checked (schema, rules, references, cycles, policy) and the provider's
 * offline rules (regions, accelerators, machine families, name limits); nothing contacted.
 */
import { staticProviderChecks } from '../static-checks.js';
import { hasErrors } from '../../../resources/diagnostic.js';
import { shortHash } from '../../../resources/spec-hash.js';
import {
  OPERATOR_OPTIONS,
  operatorSettings,
  type OperatorFlags,
  type OperatorSettings,
} from '../operator.js';
import { enforcePolicy, loadPolicyFile } from '../policy-file.js';
import { loadManifests, type LoadResult } from '../../../manifests/load.js';
import { diagnosticJson, diagnosticsSummaryLine, renderDiagnostics } from '../../ui/diagnostics-view.js';
import { defineCommand } from '../command.js';
import { TEXT_OR_JSON_OPTION } from '../options.js';
import type { CommandContext } from '../context.js';

interface ValidateOptions extends OperatorFlags {
  output: 'text' | 'json';
}

export const validateCommand = defineCommand({
  name: 'validate',
  summary: 'check manifests: schema, rules, references, dependency cycles',
  description:
    'Load manifests from files and directories (recursively: *.yaml, *.yml, multi-document files;\n' +
    'mlform.yaml is the project file) and report every problem at once, with file:line:col,\n' +
    'the field path, a code frame and a fix when one is obvious. On gcp, also the checks plan\n' +
    'makes before it asks Google anything: accelerators and machine families of the training\n' +
    'region, GPU and machine pairs, Cloud Run and Scheduler name limits. Nothing is contacted\n' +
    '(whether a referenced secret exists is for plan).',
  arguments: [{ syntax: '[paths...]', description: 'manifest files or directories', default: ['.'] }],
  options: [TEXT_OR_JSON_OPTION, ...OPERATOR_OPTIONS],
  notes: 'Exit status: 0 valid, 1 invalid.',
  examples: ['mlform validate examples/quickstart', 'mlform validate -o json manifests/ > report.json'],
  async handler([paths]: [string[]], options: ValidateOptions, ctx) {
    const loaded = await validateWithPolicy(paths, operatorSettings(options, ctx.env));
    // The provider's offline rules too, once the manifests themselves load (static-checks.ts).
    const result = hasErrors(loaded.diagnostics)
      ? loaded
      : {
          ...loaded,
          diagnostics: [...loaded.diagnostics, ...(await staticProviderChecks(loaded.desired, ctx.env))],
        };
    if (options.output === 'json') ctx.print(JSON.stringify(validateJson(result), null, 2));
    else printText(result, ctx);
    return hasErrors(result.diagnostics) ? 1 : 0;
  },
});

/**
 * The manifests, and with --policy (or MLFORM_POLICY) the operator's policy too, so a commit can be
 * checked against it before any plan; the policy's data roots add to the operator's.
 */
async function validateWithPolicy(paths: string[], operator: OperatorSettings): Promise<LoadResult> {
  const loaded = operator.policyFile ? await loadPolicyFile(operator.policyFile) : undefined;
  if (loaded && !loaded.policy) {
    return {
      desired: {
        resources: [],
        graph: { order: [], dependsOn: new Map() },
        files: [],
        treeRoot: '',
        dataRoots: [],
      },
      diagnostics: loaded.diagnostics,
    };
  }
  const policy = loaded?.policy;
  const result = await loadManifests(paths, {
    trust: {
      treeRoot: operator.treeRoot,
      dataRoots: [...operator.dataRoots, ...(policy?.policy.dataRoots ?? [])],
    },
  });
  const project = result.desired.project;
  if (!policy || !project) return result;
  const refused = await enforcePolicy(result.desired, policy, result.desired.treeRoot);
  return { ...result, diagnostics: [...result.diagnostics, ...refused] };
}

function printText({ desired, diagnostics }: LoadResult, ctx: CommandContext): void {
  const { style } = ctx;
  if (diagnostics.length > 0) ctx.print(`${renderDiagnostics(diagnostics, style)}\n\n`);
  if (hasErrors(diagnostics)) {
    ctx.print(diagnosticsSummaryLine(diagnostics, style));
    return;
  }
  const width = Math.max(0, ...desired.resources.map((r) => r.address.length));
  for (const r of desired.resources) {
    ctx.print(
      `  ${r.address.padEnd(width)}  ${style.dim(shortHash(r.specHash))}  ${style.dim(`${r.source.file}:${r.source.line}`)}`,
    );
  }
  const project = desired.project
    ? ` (stack ${desired.project.config.stack}, provider ${desired.project.config.provider})`
    : ' (no mlform.yaml found: plan and apply will need one)';
  const n = desired.resources.length;
  ctx.print(
    style.green(
      `✓ ${n} resource${n === 1 ? '' : 's'} in ${desired.files.length} file${desired.files.length === 1 ? '' : 's'} valid`,
    ) + project,
  );
}

export function validateJson({ desired, diagnostics }: LoadResult) {
  return {
    formatVersion: 1,
    valid: !hasErrors(diagnostics),
    errorCount: diagnostics.filter((d) => d.severity === 'error').length,
    warningCount: diagnostics.filter((d) => d.severity === 'warning').length,
    diagnostics: diagnostics.map(diagnosticJson),
    project: desired.project
      ? {
          file: desired.project.file,
          stack: desired.project.config.stack,
          provider: desired.project.config.provider,
        }
      : null,
    resources: desired.resources.map((r) => ({
      address: r.address,
      kind: r.kind,
      name: r.name,
      specHash: r.specHash,
      file: r.source.file,
      line: r.source.line,
    })),
    order: desired.graph.order,
  };
}
