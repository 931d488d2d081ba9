/**
 * `mlform import`: the project's objects no stack manages (Terraform's `import`, Argo CD's
 * adoption). Without arguments, a table (or `-o json`) of the unmanaged Vertex models, Cloud Run
 * services and Scheduler jobs, with the owner of those another stack holds; with
 * `--generate-config-out DIR`, manifests describing them and the `import:` entries to add. With
 * `ADDRESS ID`, adopts that one object now: plan, confirm, apply only the adoption.
 */
import { constants } from 'node:fs';
import { mkdir, open, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { error, hasErrors, type Diagnostic } from '../../../resources/diagnostic.js';
import { IMPORT_TO } from '../../../resources/project.js';
import type { ImportEntry, ProviderContext, UnmanagedObject } from '../../../providers/provider.js';
import { apply } from '../../engine/apply.js';
import { withApplyLock } from '../../engine/apply-lock.js';
import { isApplicable, summarize, type Change } from '../../engine/change.js';
import { observe } from '../../engine/observe.js';
import { plan as makePlan } from '../../engine/plan.js';
import { createPlanTextView } from '../../ui/plan-text.js';
import { renderColumns } from '../../ui/resource-table.js';
import { applyReporter } from '../apply-output.js';
import { defineCommand } from '../command.js';
import type { CommandContext } from '../context.js';
import { generateImportConfig } from '../import-config.js';
import { fileOption, TEXT_OR_JSON_OPTION } from '../options.js';
import { lockHolder, openProject, type LoadedProjectContext } from '../project.js';
import { OPERATOR_OPTIONS, operatorSettings, type OperatorFlags } from '../operator.js';
import { failed, printProblems } from '../problems.js';

interface ImportOptions extends OperatorFlags {
  file: string[];
  output: 'text' | 'json';
  generateConfigOut?: string;
  yes?: boolean;
}

export const importCommand = defineCommand({
  name: 'import',
  summary: 'list objects made outside mlform, write manifests for them, or adopt one',
  description:
    'Without arguments: the Vertex AI models (versions, aliases), Cloud Run\n' +
    'services (traffic by revision), Vertex AI Endpoints (traffic by deployed\n' +
    'model) and Cloud Scheduler jobs of the project and region that carry no\n' +
    'ownership of this stack; those another stack owns are shown with their owner\n' +
    'and cannot be adopted. With --generate-config-out DIR: a manifest per model,\n' +
    'service and endpoint describing it as it is, a Schedule with its TrainingRun\n' +
    'template per job that POSTs a container CustomJob (other jobs are listed with\n' +
    'the reason), and import-entries.txt with the `import:` entries to add to\n' +
    'mlform.yaml (existing files are never overwritten). With ADDRESS ID: adopt\n' +
    'that object as the manifest ADDRESS now (plan, confirm, apply only the\n' +
    "adoption): it is labelled (a job: described) as the stack's and nothing else\n" +
    'changes.',
  arguments: [
    { syntax: '[address]', description: 'the manifest that adopts the object: Kind/name' },
    { syntax: '[id]', description: 'the cloud resource name, as the listing shows it' },
  ],
  options: [
    fileOption(),
    TEXT_OR_JSON_OPTION,
    {
      flags: '--generate-config-out <dir>',
      description: 'write manifests and import entries into this new or empty folder',
    },
    { flags: '-y, --yes', description: 'adopt without asking (required without a terminal)' },
    ...OPERATOR_OPTIONS,
  ],
  examples: [
    'mlform import',
    'mlform import --generate-config-out imported/',
    'mlform import RegisteredModel/churn projects/p/locations/europe-west4/models/123 -y',
    'mlform import Schedule/nightly projects/p/locations/europe-west4/jobs/nightly -y',
  ],
  exitStatus:
    '0 when listed, written or adopted; 1 on errors, an existing file, or an\n' + 'answer that was not yes.',
  async handler([address, id]: [string | undefined, string | undefined], options: ImportOptions, ctx) {
    if ((address === undefined) !== (id === undefined))
      return failed(ctx, [
        error('import-arguments', 'give both ADDRESS and ID, or neither', {
          hint: 'mlform import RegisteredModel/churn projects/P/locations/L/models/123',
        }),
      ]);
    const opened = await openProject(options.file, {
      operator: operatorSettings(options, ctx.env),
      readOnly: address === undefined,
    });
    if (!opened.project) return failed(ctx, opened.diagnostics);
    printProblems(ctx, opened.diagnostics);
    const project = opened.project;
    if (!project.provider.listUnmanaged || !project.provider.adopt)
      return failed(ctx, [
        error('import-unsupported', `provider ${project.provider.name} has nothing to import`, {
          hint: 'the local provider keeps all its state in its own state directory: a registry folder or serving process made outside mlform has no record mlform could adopt (providers/local/README.md)',
        }),
      ]);
    if (address !== undefined && id !== undefined)
      return adoptOne(ctx, project, { to: address, id }, options);
    const listed = await project.provider.listUnmanaged(project.providerCtx);
    if (hasErrors(listed.diagnostics)) return failed(ctx, listed.diagnostics);
    printProblems(ctx, listed.diagnostics);
    if (options.generateConfigOut !== undefined)
      return writeConfig(ctx, project, listed.items, options.generateConfigOut);
    if (options.output === 'json') ctx.print(JSON.stringify({ items: listed.items }, null, 2));
    else ctx.print(listed.items.length === 0 ? 'no unmanaged objects' : importTable(listed.items));
    return 0;
  },
});

function importTable(items: readonly UnmanagedObject[]): string {
  const rows = items.map((u) => [u.kind, u.id, u.owner ? '' : u.name, ownerText(u), detailText(u)]);
  return renderColumns(['KIND', 'ID', 'NAME', 'OWNER', 'DETAILS'], rows);
}

const ownerText = (u: UnmanagedObject) =>
  u.owner ? `${u.owner.stack} (${u.owner.kind} ${u.owner.name})` : '-';

function detailText(u: UnmanagedObject): string {
  if (u.model) {
    const aliases = Object.entries(u.model.aliases).map(([a, v]) => `${a}=v${v}`);
    return `versions ${u.model.versions.map((v) => `v${v.version}`).join(', ')}${aliases.length ? `; aliases ${aliases.join(', ')}` : ''}`;
  }
  if (u.endpoint?.platform === 'vertexEndpoint')
    return `Vertex AI Endpoint; traffic ${u.endpoint.traffic.map((t) => `deployed model ${t.revision} ${t.percent}%`).join(', ') || 'none'}`;
  if (u.endpoint) return `traffic ${u.endpoint.traffic.map((t) => `${t.revision} ${t.percent}%`).join(', ')}`;
  if (u.schedule) {
    const when = `cron "${u.schedule.cron}" ${u.schedule.timeZone}${u.schedule.paused ? ', paused' : ''}`;
    return `${when}; ${u.schedule.unsupported ? `not adoptable: ${u.schedule.unsupported}` : `runs ${templateImage(u.schedule.template)}`}`;
  }
  return '';
}

/** The image a Scheduler job's template trains with (`trainer.container.image`). */
function templateImage(template: Record<string, unknown> | undefined): string {
  const trainer = template?.trainer as { container?: { image?: unknown } } | undefined;
  return typeof trainer?.container?.image === 'string' ? trainer.container.image : 'a container';
}

/**
 * Writes the generated files into `dir`: the operator's folder (a flag), never inside the
 * project's local state directory, and never over an existing file (each is created exclusively).
 */
async function writeConfig(
  ctx: CommandContext,
  project: LoadedProjectContext,
  items: readonly UnmanagedObject[],
  dir: string,
): Promise<number> {
  const target = resolve(dir);
  const config = project.desired.project?.config;
  const projectDir = project.desired.project?.dir;
  if (config && projectDir) {
    const state = await realpath(resolve(projectDir, config.local.stateDir)).catch(() => undefined);
    const real = await realpath(target).catch(() => target);
    const inside =
      state !== undefined && !relative(state, real).startsWith('..') && !isAbsolute(relative(state, real));
    if (inside)
      return failed(ctx, [
        error('import-out-in-state', `--generate-config-out ${dir} is inside the state directory ${state}`, {
          hint: 'write the manifests to a folder of their own',
        }),
      ]);
  }
  const files = generateImportConfig(items);
  await mkdir(target, { recursive: true });
  const problems: Diagnostic[] = [];
  for (const file of files) {
    const path = join(target, file.name);
    try {
      // O_EXCL and no symbolic link followed: an existing file (or a link planted there) is refused.
      const handle = await open(
        path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o644,
      );
      await handle.writeFile(file.text);
      await handle.close();
      ctx.print(`wrote ${path}`);
    } catch (e) {
      const exists = (e as NodeJS.ErrnoException).code === 'EEXIST';
      problems.push(
        error(
          'import-out-exists',
          exists ? `${path} exists; not overwritten` : `cannot write ${path}: ${String(e)}`,
          {
            hint: 'choose a new or empty folder for --generate-config-out',
          },
        ),
      );
    }
  }
  if (problems.length > 0) return failed(ctx, problems);
  ctx.print(
    '\nNext: add the entries of import-entries.txt to mlform.yaml, move the manifests into the tree, then `mlform plan`.',
  );
  return 0;
}

/** `mlform import ADDRESS ID`: this one entry added to mlform.yaml's, planned and applied alone. */
async function adoptOne(
  ctx: CommandContext,
  project: LoadedProjectContext,
  entry: ImportEntry,
  options: ImportOptions,
): Promise<number> {
  if (!IMPORT_TO.test(entry.to))
    return failed(ctx, [
      error('import-address', `"${entry.to}" is not an address that can adopt an object`, {
        hint: 'RegisteredModel/<name>, DeployedEndpoint/<name> or Schedule/<name>',
      }),
    ]);
  const config = project.desired.project?.config;
  if (!config || !project.desired.project) return failed(ctx, [error('no-project', 'no mlform.yaml')]);
  const imports = [...(config.import ?? []).filter((e) => e.to !== entry.to && e.id !== entry.id), entry];
  const desired = {
    ...project.desired,
    project: { ...project.desired.project, config: { ...config, import: imports } },
  };
  const isThis = (c: Change) => c.action === 'adopt' && c.resource === entry.to;
  const outcome = await withApplyLock(
    project.provider,
    { ...project.providerCtx, imports },
    { holder: lockHolder() },
    async (locked) => {
      const observed = await observe(project.provider, locked.ctx);
      printProblems(ctx, observed.diagnostics);
      if (hasErrors(observed.diagnostics)) return 1;
      const planned = makePlan(desired, observed.state, { prune: false });
      // Only this adoption is applied, so only it is shown (with the plan's errors).
      const changes = planned.changes.filter(isThis);
      const shown = {
        ...planned,
        changes,
        summary: summarize(changes),
        diagnostics: planned.diagnostics.filter((d) => d.severity === 'error'),
      };
      ctx.print(createPlanTextView({ style: ctx.style }).render(shown));
      if (!isApplicable(shown)) return 1;
      if (shown.changes.length === 0) {
        ctx.print(`${entry.to} is already the stack's: nothing to adopt`);
        return 0;
      }
      if (!options.yes) {
        if (!ctx.isInteractive)
          return failed(ctx, [
            error('approval-needed', 'not a terminal: cannot ask for confirmation', {
              hint: 'pass --yes (-y)',
            }),
          ]);
        if (!(await ctx.confirm(`\nAdopt ${entry.id} as ${entry.to}? Only 'yes' will be accepted: `))) {
          ctx.print('Import cancelled.');
          return 1;
        }
      }
      return applyAdoption(ctx, project, desired, locked.ctx, isThis, locked.signal);
    },
  );
  return outcome.status === 'done' ? outcome.value : failed(ctx, outcome.diagnostics);
}

async function applyAdoption(
  ctx: CommandContext,
  project: LoadedProjectContext,
  desired: LoadedProjectContext['desired'],
  providerCtx: ProviderContext,
  isThis: (c: Change) => boolean,
  signal: AbortSignal,
): Promise<number> {
  const reporter = await applyReporter(ctx, false);
  const result = await apply({
    provider: project.provider,
    ctx: providerCtx,
    desired,
    planOptions: { prune: false },
    filter: isThis,
    wait: false,
    onEvent: (event) => reporter.emit(event),
    signal,
  });
  await reporter.done();
  printProblems(ctx, result.diagnostics);
  if (result.ok)
    ctx.print('Adopted. `mlform plan` now diffs it against its manifest like any object of the stack.');
  return result.ok ? 0 : 1;
}
