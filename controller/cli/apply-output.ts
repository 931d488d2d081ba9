/**
 * What `mlform apply` prints while and after it works: progress events (the live view, plain lines
 * or JSON lines) and, at the end, each healthy endpoint with a request a user can paste.
 */
import type { ApplyEvent } from '../engine/apply.js';
import type { Provider, ProviderContext } from '../../providers/provider.js';
import { applyLine } from '../ui/apply-progress.js';
import { escapeTerminal } from '../ui/escape.js';
import type { CommandContext } from './context.js';
import { shellCommand } from './shell-quote.js';

export interface ApplyReporter {
  emit(event: ApplyEvent): void;
  /** Resolves once the live view has drawn its last frame. */
  done(): Promise<void>;
}

/** A person at a terminal gets the live Ink view; CI and pipes get plain lines; --json gets JSON lines. */
export async function applyReporter(ctx: CommandContext, json: boolean): Promise<ApplyReporter> {
  if (json) return { emit: (event) => ctx.print(JSON.stringify(jsonEvent(event))), done: async () => {} };
  if (ctx.isInteractive) {
    // Ink and React load only for a person at a terminal: ~40 MB and a few hundred ms otherwise.
    const live = (await import('../ui/apply-view.js')).startApplyView();
    return { emit: (event) => live.emit(event), done: () => live.done() };
  }
  return {
    emit: (event) => {
      if (event.type === 'plan' && event.pass === 1) return;
      const line = applyLine(event, ctx.style);
      if (line) ctx.print(line);
    },
    done: async () => {},
  };
}

/** The JSON-lines event stream: stable, small objects (no full plans in progress events). */
function jsonEvent(event: ApplyEvent): Record<string, unknown> {
  switch (event.type) {
    case 'plan':
      return { type: 'plan', pass: event.pass, summary: event.plan.summary };
    case 'start':
    case 'done':
      return {
        type: event.type,
        address: event.change.address,
        action: event.change.action,
        reason: event.change.reason,
      };
    case 'failed':
      return {
        type: 'failed',
        address: event.change.address,
        action: event.change.action,
        errors: event.diagnostics.map((d) => d.message),
      };
    case 'skipped':
      return { type: 'skipped', address: event.change.address, reason: event.reason };
    case 'progress':
      return {
        type: 'progress',
        runs: event.runs.map((r) => ({
          name: r.name,
          number: r.number,
          state: r.state,
          progress: r.progress,
        })),
      };
    case 'finished':
      return { type: 'finished', ok: event.ok, applied: event.applied, failed: event.failed };
  }
}

/** Each healthy endpoint's URL and traffic, and a curl command that asks it for a prediction. */
export async function printEndpoints(
  ctx: CommandContext,
  provider: Provider,
  providerCtx: ProviderContext,
): Promise<void> {
  const { items } = await provider.deployedEndpoints.list(providerCtx);
  for (const endpoint of items) {
    if (!endpoint.url || !endpoint.healthy) continue;
    const traffic = endpoint.traffic.map((t) => `v${t.version} ${t.percent}%`).join(', ');
    ctx.print(`\n${escapeTerminal(endpoint.name)}: ${escapeTerminal(endpoint.url)}  (traffic ${traffic})`);
    const instance = await exampleInstance(endpoint.url, endpoint.model);
    // Category values come from the training data: every argument is quoted for the shell.
    const predictUrl = `${endpoint.url}/v1/models/${encodeURIComponent(endpoint.model)}:predict`;
    const body = JSON.stringify({ instances: [instance] });
    ctx.print(
      `  ${shellCommand(['curl', '-s', predictUrl, '-H', 'content-type: application/json', '-d', body])}`,
    );
  }
}

interface FeatureMetadata {
  name: string;
  type: string;
  fill?: unknown;
  vocabulary?: unknown[];
}

/**
 * A request a user can paste: each feature at its training fill value (the median, or the first
 * category); features without one are left out, and the server fills them as training did.
 */
async function exampleInstance(url: string, model: string): Promise<Record<string, unknown>> {
  try {
    const response = await fetch(`${url}/v1/models/${model}/metadata`, { signal: AbortSignal.timeout(2000) });
    const body = (await response.json()) as { mlform?: { features?: FeatureMetadata[] } };
    const instance: Record<string, unknown> = {};
    for (const f of body.mlform?.features ?? []) {
      // Every feature is sent (the server refuses a left-out one); null is "missing, fill as training did".
      if (f.vocabulary && f.vocabulary.length > 0) instance[f.name] = f.vocabulary[0];
      else if (f.fill !== undefined && f.type !== 'date') instance[f.name] = f.fill;
      else instance[f.name] = null;
    }
    return instance;
  } catch {
    return {};
  }
}
