/**
 * `mlform get [kind[/name]]`: one line per resource with Argo CD's sync and health. Also home of
 * what the resource commands (describe, logs, cancel, trigger) share: the `kind/name` argument
 * and loading desired state, observed state and plan at once.
 */
import { error, hasErrors, type Diagnostic } from '../../../resources/diagnostic.js';
import { addressOf } from '../../../resources/address.js';
import { KIND_DEFINITIONS, KINDS, kindFromCliName, type Kind } from '../../../resources/kinds.js';
import { closest, didYouMean } from '../../../resources/suggest.js';
import type { ObservedState } from '../../../providers/provider.js';
import type { Plan } from '../../engine/change.js';
import { runsNamed, type ResourceStatus } from '../../engine/status.js';
import { latestRunCost } from '../../engine/actual-cost.js';
import type { RunCost } from '../../engine/cost.js';
import { fetchControllerStatus, loadClientToken, SERVER_TOKEN_ENV } from '../../loop/status-client.js';
import { renderResourceTable } from '../../ui/resource-table.js';
import { defineCommand } from '../command.js';
import { fileOption } from '../options.js';
import type { CommandContext } from '../context.js';
import { openProject, type LoadedProjectContext, type OpenProjectOptions } from '../project.js';
import { openForReading, readStack } from '../stack-reading.js';
import { OPERATOR_OPTIONS, operatorSettings, type OperatorFlags } from '../operator.js';
import { failed } from '../problems.js';
import { pendingLine } from '../../notify/for-project.js';

/** Version of `get -o json` and `describe -o json`, bumped on incompatible changes. */
export const STATUS_FORMAT_VERSION = 1;

// ---- shared by the resource commands ----------------------------------------------------------

export interface Target {
  kind: Kind;
  name?: string;
}

const KIND_SPELLINGS = KINDS.map((k) => KIND_DEFINITIONS[k].cliName);

/** `trainingrun`, `trainingruns/x`, `TrainingRun/x`; an unknown kind gets a suggestion. */
export function parseTarget(
  text: string,
  requireName: boolean,
): { target?: Target; diagnostic?: Diagnostic } {
  const slash = text.indexOf('/');
  const kindText = slash < 0 ? text : text.slice(0, slash);
  const name = slash < 0 ? undefined : text.slice(slash + 1);
  const kind = kindFromCliName(kindText);
  if (!kind) {
    const suggestion = didYouMean(kindText, KIND_SPELLINGS);
    return {
      diagnostic: error('unknown-kind', `unknown kind "${kindText}"${suggestion ? `; ${suggestion}` : ''}`, {
        hint: `kinds: ${KIND_SPELLINGS.join(', ')} (singular, plural or CamelCase)`,
      }),
    };
  }
  if (name === '' || (requireName && name === undefined)) {
    return {
      diagnostic: error('missing-name', `"${text}" names no resource`, {
        hint: `write ${KIND_DEFINITIONS[kind].cliName}/NAME`,
      }),
    };
  }
  return { target: { kind, name } };
}

/** The commands that act on one kind only, and what they say when given another. */
const ONE_KIND = {
  cancel: { kind: 'TrainingRun', only: 'can be cancelled', example: 'mlform cancel trainingrun/mpg-mlp' },
  trigger: { kind: 'Schedule', only: 'can be triggered', example: 'mlform trigger schedule/mpg-weekly' },
  logs: { kind: 'TrainingRun', only: 'have logs', example: 'mlform logs trainingrun/mpg-mlp' },
} as const satisfies Record<string, { kind: Kind; only: string; example: string }>;

/** `kind/NAME` for a command of ONE_KIND: the name, or the problem (`<command>-kind` for another kind). */
export function namedTarget(
  text: string,
  command: keyof typeof ONE_KIND,
): { name: string } | { diagnostic: Diagnostic } {
  const { kind, only, example } = ONE_KIND[command];
  const parsed = parseTarget(text, true);
  if (parsed.target?.name !== undefined && parsed.target.kind === kind) return { name: parsed.target.name };
  const given = parsed.target?.kind ?? text;
  return {
    diagnostic:
      parsed.diagnostic ??
      error(`${command}-kind`, `only ${kind}s ${only}, not ${given}`, { hint: `e.g. ${example}` }),
  };
}

/**
 * The target of a command of ONE_KIND and its project, opened with the operator's settings;
 * problems are printed and `undefined` returned.
 */
export async function openNamedTarget(
  ctx: CommandContext,
  text: string,
  command: keyof typeof ONE_KIND,
  options: OperatorFlags & { file: string[] },
  open: Omit<OpenProjectOptions, 'operator'> = {},
): Promise<{ name: string; project: LoadedProjectContext } | undefined> {
  const target = namedTarget(text, command);
  if ('diagnostic' in target) {
    failed(ctx, [target.diagnostic]);
    return undefined;
  }
  const opened = await openProject(options.file, { ...open, operator: operatorSettings(options, ctx.env) });
  if (!opened.project) {
    failed(ctx, opened.diagnostics);
    return undefined;
  }
  return { name: target.name, project: opened.project };
}

/** A name that is neither in the manifests nor in the actual state, with the closest one. */
export function unknownResource(
  kind: Kind,
  name: string,
  statuses: readonly Pick<ResourceStatus, 'kind' | 'name'>[],
): Diagnostic {
  const names = statuses.filter((s) => s.kind === kind).map((s) => s.name);
  const match = closest(name, names);
  const cli = KIND_DEFINITIONS[kind].cliName;
  return error('unknown-resource', `${kind} "${name}" is neither in the manifests nor in the actual state`, {
    address: addressOf(kind, name),
    hint: match
      ? `did you mean "${cli}/${match}"?`
      : names.length > 0
        ? `known: ${names.map((n) => `${cli}/${n}`).join(', ')}`
        : `there is no ${kind} in this stack; list resources with \`mlform get\``,
  });
}

export interface StatusInputs {
  project: LoadedProjectContext;
  observed: ObservedState;
  plan: Plan;
  statuses: ResourceStatus[];
}

/** Manifests, actual state, plan and statuses; problems are printed and `undefined` returned. */
export async function loadStatusInputs(
  ctx: CommandContext,
  files: readonly string[],
  flags: OperatorFlags = {},
): Promise<StatusInputs | undefined> {
  const opened = await openForReading(files, operatorSettings(flags, ctx.env));
  if (!opened.project) {
    failed(ctx, opened.diagnostics);
    return undefined;
  }
  const reading = await readStack(opened.project);
  if (hasErrors(reading.observation.diagnostics)) {
    failed(ctx, reading.observation.diagnostics);
    return undefined;
  }
  return {
    project: opened.project,
    observed: reading.observation.state,
    plan: reading.plan,
    statuses: reading.statuses,
  };
}

// ---- the command --------------------------------------------------------------------------------

interface GetOptions extends OperatorFlags {
  file: string[];
  output: 'table' | 'wide' | 'json';
  server?: string;
  tokenFile?: string;
}

export const getCommand = defineCommand({
  name: 'get',
  summary: 'list resources with their sync status and health',
  description:
    'One line per resource declared in the manifests or present in the actual state.\n' +
    '  SYNC     Synced: the plan has nothing to do; OutOfSync: apply would change\n' +
    '           it; Unknown: the plan has an error for it\n' +
    '  HEALTH   Healthy; Progressing: training, or waiting for versions;\n' +
    '           Degraded: failed run, endpoint not answering; Missing: not\n' +
    '           created yet; Suspended: paused schedule\n' +
    '  DETAILS  latest run of the current spec and its key metric; versions and\n' +
    '           aliases; URL and traffic; next fire time\n' +
    '  COST     with -o wide: what the newest finished run of a TrainingRun cost,\n' +
    '           its duration x the list price of its machines and GPUs (a range\n' +
    '           with fallbacks), GPU-hours; locally CPU-hours, priced with\n' +
    '           local.cpuHourPrice. -o json carries it as `cost`\n' +
    'The kind is trainingrun, registeredmodel, deployedendpoint or schedule, also\n' +
    'plural or CamelCase (trainingruns, TrainingRun). Manifests and mlform.yaml\n' +
    'are read from -f (default: the current directory).',
  arguments: [{ syntax: '[kind[/name]]', description: 'only this kind, or only this resource' }],
  options: [
    fileOption(),
    {
      flags: '--server <url>',
      description: "a running controller's status (its /api/status) instead of the local manifests",
    },
    {
      flags: '--token-file <file>',
      description: `with --server: the bearer token the controller requires (default $${SERVER_TOKEN_ENV.file}, then $${SERVER_TOKEN_ENV.value})`,
    },
    {
      flags: '-o, --output <format>',
      description:
        'table for people, wide adds COST (the newest finished run at list prices), json for scripts',
      choices: ['table', 'wide', 'json'],
      default: 'table',
    },
    ...OPERATOR_OPTIONS,
  ],
  examples: [
    'mlform get -f examples/quickstart',
    'mlform get trainingruns',
    'mlform get trainingruns -o wide   # with what the newest finished run cost',
    'mlform get deployedendpoint/mpg-api -o json',
    'mlform get --server http://127.0.0.1:8080 trainingruns',
    'mlform get --server http://ctl:8080 --token-file ~/.mlform-token   # a controller with --auth-token-file',
  ],
  exitStatus:
    '0 on success; 1 when the manifests or the state cannot be read,\nor the kind or name is unknown.',
  async handler([targetText]: [string | undefined], options: GetOptions, ctx) {
    let target: Target | undefined;
    if (targetText !== undefined) {
      const parsed = parseTarget(targetText, false);
      if (!parsed.target) return failed(ctx, parsed.diagnostic ? [parsed.diagnostic] : []);
      target = parsed.target;
    }
    if (options.server !== undefined)
      return getFromServer(ctx, { ...options, server: options.server }, target);
    const inputs = await loadStatusInputs(ctx, options.file, options);
    if (!inputs) return 1;
    const stack = inputs.project.providerCtx.stack;
    const code = printSelected(ctx, withRunCosts(inputs), target, options.output, {
      stack,
      json: (resources) => ({ formatVersion: STATUS_FORMAT_VERSION, stack, resources }),
      table: (selected) => renderResourceTable(selected, ctx.style, { wide: options.output === 'wide' }),
    });
    // The footer goes to stderr: the table on stdout stays what scripts parse.
    const pending =
      (options.output === 'table' || options.output === 'wide') && code === 0
        ? await pendingLine(inputs.project).catch(() => undefined)
        : undefined;
    if (pending !== undefined) ctx.printErr(pending);
    return code;
  },
});

/** The statuses, each TrainingRun with what its newest finished run cost (where it can be priced). */
function withRunCosts({
  project,
  observed,
  statuses,
}: StatusInputs): (ResourceStatus & { cost?: RunCost })[] {
  const config = project.desired.project?.config;
  const manifests = new Map(project.desired.resources.map((r) => [r.address, r]));
  return statuses.map((s) => {
    if (s.kind !== 'TrainingRun') return s;
    const cost = latestRunCost(config, runsNamed(observed, s.name), manifests.get(s.address));
    return cost ? { ...s, cost } : s;
  });
}

/** How one listing is shown: the stack for the empty message, the JSON document and the table. */
interface Listing<R> {
  stack: string;
  json: (selected: R[]) => object;
  table: (selected: R[]) => string;
  /** On stderr before the table or the empty message (not with JSON). */
  notice?: string;
}

/** The resources of one kind or one name; exit 1 when a named one is unknown. */
function printSelected<R extends Pick<ResourceStatus, 'kind' | 'name'>>(
  ctx: CommandContext,
  resources: readonly R[],
  target: Target | undefined,
  output: GetOptions['output'],
  listing: Listing<R>,
): number {
  const selected = resources.filter(
    (r) => !target || (r.kind === target.kind && (target.name === undefined || r.name === target.name)),
  );
  if (target?.name !== undefined && selected.length === 0) {
    return failed(ctx, [unknownResource(target.kind, target.name, resources)]);
  }
  if (output === 'json') {
    ctx.print(JSON.stringify(listing.json(selected), null, 2));
    return 0;
  }
  if (listing.notice !== undefined) ctx.printErr(listing.notice);
  if (selected.length === 0)
    ctx.print(`No ${target ? `${target.kind} ` : ''}resources in stack ${listing.stack}.`);
  else ctx.print(listing.table(selected));
  return 0;
}

/** The same table, from a controller's /api/status. */
async function getFromServer(
  ctx: CommandContext,
  options: GetOptions & { server: string },
  target: Target | undefined,
) {
  const token = await loadClientToken(options.tokenFile, ctx.env);
  if (token.diagnostics.length > 0) return failed(ctx, token.diagnostics);
  const fetched = await fetchControllerStatus(options.server, { token: token.token });
  if (!fetched.status) return failed(ctx, fetched.diagnostics);
  const { controller, resources } = fetched.status;
  return printSelected(ctx, resources, target, options.output, {
    stack: controller.stack ?? '(unknown)',
    json: (selected) => ({ formatVersion: STATUS_FORMAT_VERSION, controller, resources: selected }),
    table: (selected) =>
      renderResourceTable(
        selected.map((r) => ({ ...r, sync: r.syncStatus })),
        ctx.style,
        { wide: options.output === 'wide' },
      ),
    ...(controller.badCommit && {
      notice:
        `commit ${controller.badCommit.commit} does not load (${controller.badCommit.diagnostics.length} error(s)); ` +
        `reconciling ${controller.appliedCommit ?? 'nothing'} meanwhile`,
    }),
  });
}
