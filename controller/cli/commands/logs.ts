/**
 * `mlform logs trainingrun/NAME [#N] [--follow]`: a training's log, with the trainer's JSON-lines
 * progress events rendered as the apply view renders them and other lines (stderr, stack traces)
 * as they are. The log is written by the training script, so each line is data: control
 * characters and terminal sequences in it are shown as escapes (`\x1b[2K`), never acted on.
 */
import { error } from '../../../resources/diagnostic.js';
import { runRef, trainingRunAddress } from '../../../resources/address.js';
import type { ProgressEvent } from '../../../trainer/types.js';
import {
  ACTIVE_RUN_STATES,
  type Provider,
  type ProviderContext,
  type RunRef,
} from '../../../providers/provider.js';
import { escapeTerminal } from '../../ui/escape.js';
import { progressLine } from '../../ui/training-progress.js';
import type { Style } from '../../ui/style.js';
import { defineCommand } from '../command.js';
import type { CommandContext } from '../context.js';
import { openProject } from '../project.js';
import { OPERATOR_OPTIONS, operatorSettings, type OperatorFlags } from '../operator.js';
import { failed, printProblems } from '../problems.js';
import { namedTarget } from './get.js';
import { fileOption } from '../options.js';

interface LogsOptions extends OperatorFlags {
  follow?: boolean;
  fromStart?: boolean;
  file: string[];
  raw?: boolean;
}

const POLL_MS = 1000;
/** What `--follow` shows of the past before following, like `tail -f`. */
const FOLLOW_TAIL = 10;

export const logsCommand = defineCommand({
  name: 'logs',
  summary: "print a training run's log",
  description:
    'Print the log of the latest run of a TrainingRun (or of run N). Progress\n' +
    'events become readable lines (start; epoch with loss, metrics and ETA;\n' +
    'early stop; trials; done; error); other lines (stderr, stack traces) are\n' +
    'printed as is. With --follow, print the last 10 lines and keep following\n' +
    'until the run is no longer queued or running; --from-start prints the whole\n' +
    'log first. -f is --file, the project, as in every mlform command.',
  arguments: [
    { syntax: '<trainingrun/NAME>', description: 'the TrainingRun, e.g. trainingrun/mpg-mlp' },
    { syntax: '[#N]', description: 'run number (default: the latest run of that name)' },
  ],
  options: [
    { flags: '--follow', description: 'keep printing new lines until the run finishes' },
    {
      flags: '--from-start',
      description: 'with --follow, print the whole log before following (default: the last 10 lines)',
    },
    { flags: '--raw', description: 'print the JSON-lines events as written' },
    fileOption(),
    ...OPERATOR_OPTIONS,
  ],
  examples: [
    'mlform logs trainingrun/mpg-mlp',
    'mlform logs trainingrun/mpg-mlp 1',
    'mlform logs trainingrun/mpg-mlp --follow -f examples/quickstart',
  ],
  exitStatus:
    '0 when printed (with --follow: the run succeeded or was cancelled);\n' +
    '1 when the run does not exist, the log cannot be read, or (with --follow)\n' +
    'the run failed.',
  async handler([targetText, numberText]: [string, string | undefined], options: LogsOptions, ctx) {
    const abort = new AbortController();
    const stopListening = ctx.onStopSignal(() => abort.abort(), ['SIGINT']);
    try {
      return await logs(ctx, targetText, numberText, options, abort.signal);
    } finally {
      stopListening();
    }
  },
});

async function logs(
  ctx: CommandContext,
  targetText: string,
  numberText: string | undefined,
  options: LogsOptions,
  signal: AbortSignal,
): Promise<number> {
  const target = namedTarget(targetText, 'logs');
  if ('diagnostic' in target) return failed(ctx, [target.diagnostic]);
  const { name } = target;
  const number = numberText === undefined ? undefined : runNumber(numberText);
  if (number === null) {
    return failed(ctx, [
      error('bad-run-number', `"${numberText}" is not a run number`, { hint: 'e.g. 2 or #2' }),
    ]);
  }
  const opened = await openProject(options.file, {
    signal,
    operator: operatorSettings(options, ctx.env),
    enforcePolicy: false,
    readOnly: true,
  });
  if (!opened.project) return failed(ctx, opened.diagnostics);
  const { provider, providerCtx } = opened.project;
  const listed = await provider.trainingRuns.list(providerCtx);
  const runs = listed.items.filter((r) => r.name === name).sort((a, b) => b.number - a.number);
  const run = number === undefined ? runs[0] : runs.find((r) => r.number === number);
  if (!run) {
    return failed(ctx, [
      ...listed.diagnostics,
      error(
        'run-not-found',
        runs.length === 0
          ? `TrainingRun "${name}" has no runs`
          : `TrainingRun "${name}" has no run #${number}`,
        {
          address: trainingRunAddress(name),
          hint:
            runs.length === 0
              ? 'check the name with `mlform get trainingruns`, or start one with `mlform apply`'
              : `its runs: ${runs.map((r) => `#${r.number}`).join(', ')}`,
        },
      ),
    ]);
  }
  const log: RunLog = {
    ctx,
    provider,
    providerCtx,
    ref: { name, number: run.number },
    render: (line) => (options.raw ? escapeTerminal(line) : renderLogLine(line, ctx.style)),
  };
  const printed = await printLog(log, options.follow && !options.fromStart);
  if (printed.failed) return 1;
  if (!options.follow) return 0;
  return follow(log, printed.next, signal);
}

/** `2` or `#2`; null when the text is not a run number. */
function runNumber(text: string): number | null {
  const number = Number.parseInt(text.replace(/^#/, ''), 10);
  return Number.isInteger(number) && number >= 1 && /^#?\d+$/.test(text) ? number : null;
}

/** One run's log and how its lines are shown. */
interface RunLog {
  ctx: CommandContext;
  provider: Provider;
  providerCtx: ProviderContext;
  ref: RunRef;
  render: (line: string) => string | undefined;
}

/** Everything so far (pages until the end); following without --from-start keeps only the tail. */
async function printLog(
  { ctx, provider, providerCtx, ref, render }: RunLog,
  tailOnly: boolean | undefined,
): Promise<{ next: number; failed: boolean }> {
  let next = 0;
  const tail: string[] = [];
  for (;;) {
    const page = await provider.trainingRuns.logs(providerCtx, { ...ref, from: next });
    if (page.diagnostics.length > 0) {
      printProblems(ctx, page.diagnostics);
      return { next, failed: true };
    }
    for (const line of page.lines) {
      const text = render(line);
      if (text === undefined) continue;
      if (!tailOnly) ctx.print(text);
      else {
        tail.push(text);
        if (tail.length > FOLLOW_TAIL) tail.shift();
      }
    }
    if (page.next === next || page.lines.length === 0) break;
    next = page.next;
  }
  for (const text of tail) ctx.print(text);
  return { next, failed: false };
}

/** Polls the log and the run's state; the last read after the run ends catches its final lines. */
async function follow(
  { ctx, provider, providerCtx, ref, render }: RunLog,
  from: number,
  signal: AbortSignal,
): Promise<number> {
  let next = from;
  for (;;) {
    const observed = await provider.trainingRuns.observe(providerCtx, ref);
    const active = observed.run ? ACTIVE_RUN_STATES.includes(observed.run.state) : false;
    const page = await provider.trainingRuns.logs(providerCtx, { ...ref, from: next });
    if (page.diagnostics.length > 0) return failed(ctx, page.diagnostics);
    for (const line of page.lines) {
      const text = render(line);
      if (text !== undefined) ctx.print(text);
    }
    // More pages waiting: read them before deciding anything.
    if (page.next !== next && page.lines.length > 0) {
      next = page.next;
      continue;
    }
    if (!active || signal.aborted) {
      const state = observed.run?.state ?? 'unknown';
      ctx.printErr(signal.aborted ? `stopped following ${runRef(ref)}` : `${runRef(ref)} ${state}`);
      return state === 'failed' ? 1 : 0;
    }
    await sleep(POLL_MS, signal);
  }
}

/**
 * One log line for people: events through `progressLine` (step events are dropped), the rest as
 * is but escaped. An event whose fields are not what the trainer writes (a script can print any
 * JSON) is shown as its escaped line rather than failing the command.
 */
export function renderLogLine(line: string, style: Style): string | undefined {
  const event = parseEvent(line);
  if (!event) return escapeTerminal(line);
  let text: string | undefined;
  try {
    text = progressLine(event, style);
  } catch {
    return escapeTerminal(line);
  }
  // Steps and checkpoints are many and say nothing an epoch line does not; unknown JSON stays visible.
  return text ?? (QUIET_EVENTS.has(event.type) ? undefined : escapeTerminal(line));
}

const QUIET_EVENTS = new Set<string>(['step', 'checkpoint']);

function parseEvent(line: string): ProgressEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null && 'type' in value && typeof value.type === 'string'
      ? (value as ProgressEvent)
      : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
