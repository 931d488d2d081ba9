/**
 * `mlform logs trainingrun/NAME [#N] [-f]`: a training's log, with the trainer's JSON-lines
 * progress events rendered as the apply view renders them and other lines (stderr, stack traces)
 * as they are. The log is written by the training script, so each line is data: control
 * characters and terminal sequences in it are shown as escapes (`\x1b[2K`), never acted on.
 */
import type { Command } from 'commander';
import { error } from '../../../resources/diagnostic.js';
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
import type { CommandContext } from '../context.js';
import { openProject } from '../project.js';
import { addOperatorOptions, operatorSettings, type OperatorFlags } from '../operator.js';
import { printProblems } from './plan.js';
import { fileOption, parseTarget } from './get.js';

interface LogsOptions extends OperatorFlags {
  follow?: boolean;
  fromStart?: boolean;
  file: string[];
  raw?: boolean;
}

const POLL_MS = 1000;
/** What `-f` shows of the past before following, like `tail -f`. */
const FOLLOW_TAIL = 10;

export function registerLogs(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
  addOperatorOptions(
    program
      .command('logs')
      .summary("print a training run's log")
      .description(
        'Print the log of the latest run of a TrainingRun (or of run N). Progress\n' +
          'events become readable lines (start; epoch with loss, metrics and ETA;\n' +
          'early stop; trials; done; error); other lines (stderr, stack traces) are\n' +
          'printed as is. With -f, print the last 10 lines and keep following until\n' +
          'the run is no longer queued or running; --from-start prints the whole log\n' +
          'first. The project is found from --file (-f means follow here, as in\n' +
          'kubectl logs and tail).',
      )
      .argument('<trainingrun/NAME>', 'the TrainingRun, e.g. trainingrun/mpg-mlp')
      .argument('[#N]', 'run number (default: the latest run of that name)')
      .option('-f, --follow', 'keep printing new lines until the run finishes')
      .option('--from-start', 'with -f, print the whole log before following (default: the last 10 lines)')
      .option('--raw', 'print the JSON-lines events as written')
      .addOption(fileOption('--file <path>'))
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  mlform logs trainingrun/mpg-mlp\n' +
          '  mlform logs trainingrun/mpg-mlp 1\n' +
          '  mlform logs trainingrun/mpg-mlp -f --file examples/quickstart\n' +
          '\nExit status: 0 when printed (with -f: the run succeeded or was cancelled);\n' +
          '1 when the run does not exist, the log cannot be read, or (with -f) the run\n' +
          'failed.',
      ),
  ).action(async (targetText: string, numberText: string | undefined, options: LogsOptions) => {
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    try {
      setExit(await logs(targetText, numberText, options, abort.signal));
    } finally {
      process.off('SIGINT', onSignal);
    }
  });

  async function logs(
    targetText: string,
    numberText: string | undefined,
    options: LogsOptions,
    signal: AbortSignal,
  ): Promise<number> {
    const parsed = parseTarget(targetText, true);
    if (!parsed.target?.name || parsed.target.kind !== 'TrainingRun') {
      printProblems(ctx, [
        parsed.diagnostic ??
          error('logs-kind', `only TrainingRuns have logs, not ${parsed.target?.kind ?? targetText}`, {
            hint: 'e.g. mlform logs trainingrun/mpg-mlp',
          }),
      ]);
      return 1;
    }
    const name = parsed.target.name;
    let number: number | undefined;
    if (numberText !== undefined) {
      number = Number.parseInt(numberText.replace(/^#/, ''), 10);
      if (!Number.isInteger(number) || number < 1 || !/^#?\d+$/.test(numberText)) {
        printProblems(ctx, [
          error('bad-run-number', `"${numberText}" is not a run number`, { hint: 'e.g. 2 or #2' }),
        ]);
        return 1;
      }
    }
    const opened = await openProject(options.file, {
      signal,
      operator: operatorSettings(options, ctx.env),
      enforcePolicy: false,
      readOnly: true,
    });
    if (!opened.project) {
      printProblems(ctx, opened.diagnostics);
      return 1;
    }
    const { provider, providerCtx } = opened.project;
    const listed = await provider.trainingRuns.list(providerCtx);
    const runs = listed.items.filter((r) => r.name === name).sort((a, b) => b.number - a.number);
    const run = number === undefined ? runs[0] : runs.find((r) => r.number === number);
    if (!run) {
      printProblems(ctx, [
        ...listed.diagnostics,
        error(
          'run-not-found',
          runs.length === 0
            ? `TrainingRun "${name}" has no runs`
            : `TrainingRun "${name}" has no run #${number}`,
          {
            address: `TrainingRun/${name}`,
            hint:
              runs.length === 0
                ? 'check the name with `mlform get trainingruns`, or start one with `mlform apply`'
                : `its runs: ${runs.map((r) => `#${r.number}`).join(', ')}`,
          },
        ),
      ]);
      return 1;
    }
    const render = (line: string) => (options.raw ? escapeTerminal(line) : renderLogLine(line, ctx.style));
    const ref: RunRef = { name, number: run.number };
    const printed = await printLog(provider, providerCtx, ref, render, options.follow && !options.fromStart);
    if (printed.failed) return 1;
    if (!options.follow) return 0;
    return follow(provider, providerCtx, ref, printed.next, render, signal);
  }

  /** Everything so far (pages until the end); following without --from-start keeps only the tail. */
  async function printLog(
    provider: Provider,
    providerCtx: ProviderContext,
    ref: RunRef,
    render: (line: string) => string | undefined,
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
    provider: Provider,
    providerCtx: ProviderContext,
    ref: RunRef,
    from: number,
    render: (line: string) => string | undefined,
    signal: AbortSignal,
  ): Promise<number> {
    let next = from;
    for (;;) {
      const observed = await provider.trainingRuns.observe(providerCtx, ref);
      const active = observed.run ? ACTIVE_RUN_STATES.includes(observed.run.state) : false;
      const page = await provider.trainingRuns.logs(providerCtx, { ...ref, from: next });
      if (page.diagnostics.length > 0) {
        printProblems(ctx, page.diagnostics);
        return 1;
      }
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
        ctx.printErr(
          signal.aborted
            ? `stopped following ${ref.name}#${ref.number}`
            : `${ref.name}#${ref.number} ${state}`,
        );
        return state === 'failed' ? 1 : 0;
      }
      await sleep(POLL_MS, signal);
    }
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
