/**
 * `mlform check` (like `flux check --pre`): whether this machine and account can run the project,
 * before a first plan. gcp: credentials, the APIs, the bucket, the permissions, the images, the
 * offers (providers/gcp/preflight.ts);
 * local: the state directory and bubblewrap (providers/local/preflight.ts).
 */
import { resolve } from 'node:path';
import { loadManifests } from '../../../manifests/load.js';
import { error, hasErrors } from '../../../resources/diagnostic.js';
import type { CheckResult, CheckStatus } from '../../../providers/gcp/preflight.js';
import { DEFAULT_STATE_DIR, stateDirEscape } from '../../../providers/local/index.js';
import { stateDirEscapeDiagnostic } from '../../../resources/project.js';
import { localPreflight } from '../../../providers/local/preflight.js';
import { defineCommand } from '../command.js';
import type { CommandContext } from '../context.js';
import { OPERATOR_OPTIONS, operatorSettings, type OperatorFlags } from '../operator.js';
import { fileOption, TEXT_OR_JSON_OPTION } from '../options.js';
import { failed } from '../problems.js';
import { validateResources } from '../project.js';

interface CheckOptions extends OperatorFlags {
  file: string[];
  output: 'text' | 'json';
}

export const checkCommand = defineCommand({
  name: 'check',
  summary: 'check this machine and account can run the project (credentials, APIs, bucket, roles)',
  description:
    'Before a first plan (like `flux check --pre`): each check passes or fails,\n' +
    'with its fix. gcp: credentials; Vertex AI, Cloud Run, Cloud Scheduler (and\n' +
    'Secret Manager when a manifest references a secret) answer one list call;\n' +
    'the bucket exists, suits the region and takes a probe object under the\n' +
    "stack's prefix (written, read, deleted); your identity holds the permissions\n" +
    'of deploy/README.md on the project and the bucket (testIamPermissions; each\n' +
    'missing one with the role that grants it); the trainer and serving images\n' +
    "exist in Artifact Registry; the training region offers the manifests'\n" +
    'machines and accelerators.\n' +
    'local: the state directory is writable; bubblewrap is installed when\n' +
    'commands from manifests are allowed (MLFORM_ALLOW_COMMANDS).',
  // No --policy: checking sends nothing the policy governs.
  options: [
    fileOption(),
    TEXT_OR_JSON_OPTION,
    ...OPERATOR_OPTIONS.filter((o) => !o.flags.startsWith('--policy')),
  ],
  notes: 'Exit status: 0 when every check passes (warnings and skips included), 1 when one fails.',
  examples: ['mlform check', 'mlform check -f examples/quickstart -o json'],
  async handler(_args: [], options: CheckOptions, ctx) {
    const operator = operatorSettings(options, ctx.env);
    const paths = options.file.length > 0 ? options.file : ['.'];
    const { desired, diagnostics } = await loadManifests(paths, {
      trust: { treeRoot: operator.treeRoot, dataRoots: operator.dataRoots },
    });
    if (hasErrors(diagnostics)) return failed(ctx, diagnostics);
    const project = desired.project;
    if (!project) {
      return failed(ctx, [
        error('no-project', `no mlform.yaml found in ${paths.join(', ')} or above`, {
          hint: 'create one with `stack: <name>` and `provider: local` next to your manifests',
        }),
      ]);
    }
    const config = project.config;
    let results: CheckResult[];
    if (config.provider === 'gcp') {
      if (!config.gcp)
        return failed(ctx, [
          error('gcp-config', 'provider "gcp" needs a `gcp` section', { file: project.file }),
        ]);
      // Only a gcp project pays for loading the Google SDKs.
      const [{ createGcpProvider, ENDPOINT_ENV }, { gcpPreflight }] = await Promise.all([
        import('../../../providers/gcp/index.js'),
        import('../../../providers/gcp/preflight.js'),
      ]);
      const provider = createGcpProvider({ config: config.gcp, env: ctx.env });
      try {
        results = await gcpPreflight({
          gcp: provider.gcp,
          stack: config.stack,
          resources: validateResources(desired),
          env: ctx.env,
          endpoint: ctx.env[ENDPOINT_ENV] || undefined,
        });
      } finally {
        await provider.close();
      }
    } else {
      // The manifests' stateDir only inside the project (SECURITY.md), as for every other command.
      if (operator.stateDir === undefined) {
        const escape = await stateDirEscape(project.dir, config.local.stateDir);
        if (escape) {
          return failed(ctx, [
            {
              ...stateDirEscapeDiagnostic(config.local.stateDir, escape.escape, escape.detail),
              file: project.file,
            },
          ]);
        }
      }
      const stateDir = operator.stateDir ?? resolve(project.dir, config.local.stateDir ?? DEFAULT_STATE_DIR);
      results = await localPreflight(stateDir, ctx.env);
    }
    const ok = results.every((r) => r.status !== 'fail');
    if (options.output === 'json') {
      ctx.print(
        JSON.stringify({ ok, provider: config.provider, stack: config.stack, checks: results }, null, 2),
      );
    } else {
      printResults(ctx, results, ok);
    }
    return ok ? 0 : 1;
  },
});

function printResults(ctx: CommandContext, results: readonly CheckResult[], ok: boolean): void {
  const s = ctx.style;
  const mark: Record<CheckStatus, string> = {
    pass: s.green('✓'),
    fail: s.red('✗'),
    warn: s.yellow('!'),
    skip: s.dim('-'),
  };
  for (const r of results) {
    ctx.print(`${mark[r.status]} ${r.name}: ${r.detail}`);
    if (r.fix && r.status !== 'pass') ctx.print(`    fix: ${r.fix}`);
  }
  const failedCount = results.filter((r) => r.status === 'fail').length;
  ctx.print(ok ? s.green('all checks passed') : s.red(`${failedCount} check(s) failed`));
}
