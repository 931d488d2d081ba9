/**
 * Apply events as plain lines (CI, pipes) — one line per change and per training progress step.
 * Addresses, reasons and provider messages are data: escaped for the terminal (escape.ts).
 */
import { runAddress } from '../../resources/address.js';
import type { ApplyEvent } from '../engine/apply.js';
import type { Change } from '../engine/change.js';
import { escapeTerminal as t } from './escape.js';
import type { Style } from './style.js';
import { formatDuration } from './training-progress.js';

const VERB: Record<Change['action'], string> = {
  create: 'creating',
  update: 'updating',
  replace: 'replacing',
  delete: 'deleting',
  cancel: 'cancelling',
  register: 'registering',
  promote: 'moving alias',
  adopt: 'adopting',
  wait: 'waiting',
  fire: 'firing',
  noop: '',
};

export function applyLine(event: ApplyEvent, style: Style): string | undefined {
  switch (event.type) {
    case 'plan':
      return event.pass > 1
        ? style.dim(
            `pass ${event.pass}: ${event.plan.changes.filter((c) => c.action !== 'noop').length} changes`,
          )
        : undefined;
    case 'start':
      return `${t(event.change.address)}: ${VERB[event.change.action]}... ${style.dim(t(event.change.reason))}`;
    case 'done':
      return `${t(event.change.address)}: ${style.green(`${event.change.action} complete`)}`;
    case 'failed':
      return `${t(event.change.address)}: ${style.red(`${event.change.action} failed: ${event.diagnostics.map((d) => t(d.message)).join('; ')}`)}`;
    case 'skipped':
      return `${t(event.change.address)}: ${style.yellow(`skipped (${t(event.reason)})`)}`;
    case 'progress':
      return (
        event.runs
          .map((r) => {
            const p = r.progress;
            const detail = p
              ? `epoch ${p.epoch}/${p.epochs}${p.loss !== undefined ? ` loss ${p.loss.toFixed(4)}` : ''}${
                  p.etaSeconds !== undefined ? ` eta ${formatDuration(p.etaSeconds)}` : ''
                }`
              : '';
            return `${t(runAddress(r))}: ${t(r.state)} ${detail}`.trimEnd();
          })
          .join('\n') || undefined
      );
    case 'finished':
      return event.ok
        ? style.green(`Apply complete: ${event.applied} change${event.applied === 1 ? '' : 's'} applied.`)
        : style.red(
            `Apply finished with errors: ${event.applied} applied, ${event.failed} resource(s) failed.`,
          );
  }
}
