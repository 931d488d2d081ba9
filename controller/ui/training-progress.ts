/**
 * Progress events of a training as text: one line per epoch, or one live line on a terminal. The
 * events come from the run log, which the training process writes: every string is escaped.
 */
import type { ProgressEvent } from '../../trainer/types.js';
import { escapeTerminal as t } from './escape.js';
import type { Style } from './style.js';
import { formatDuration } from '../engine/duration.js';

export { formatDuration };

const fmt = (v: number): string =>
  Math.abs(v) >= 1000 || Math.abs(v) < 0.001 ? v.toExponential(3) : v.toFixed(4);

export function progressLine(event: ProgressEvent, style: Style): string | undefined {
  switch (event.type) {
    case 'start':
      return `training on ${t(event.backend)}: ${event.epochs} epochs × ${event.stepsPerEpoch} steps${
        event.resumedFromEpoch ? style.yellow(` (resumed after epoch ${event.resumedFromEpoch})`) : ''
      }`;
    case 'epoch': {
      const metrics = Object.entries(event.metrics)
        .filter(([k]) => k !== 'loss')
        .map(([k, v]) => `${t(k)} ${fmt(v)}`)
        .join('  ');
      const width = String(event.epochs).length;
      return `epoch ${String(event.epoch).padStart(width)}/${event.epochs}  loss ${fmt(event.loss)}  ${metrics}  ${style.dim(
        `eta ${formatDuration(event.etaSeconds)}`,
      )}`;
    }
    case 'early-stop':
      return style.cyan(
        `early stop at epoch ${event.epoch}; restored the best weights (epoch ${event.bestEpoch})`,
      );
    case 'trial': {
      // pruned: the pruner's reason; failed: the error (both written by the trainer: escaped).
      const reason = typeof event.reason === 'string' ? `: ${t(event.reason)}` : '';
      const state = event.state === 'pruned' ? style.yellow(t(event.state)) : t(String(event.state));
      return `trial ${event.trial}/${event.trials} ${state}${event.metric !== undefined ? ` ${fmt(event.metric)}` : ''}${reason} ${style.dim(t(JSON.stringify(event.params) ?? ''))}`;
    }
    case 'done':
      return style.green(
        `done in ${formatDuration(event.seconds)}: ${Object.entries(event.metrics)
          .map(([k, v]) => `${t(k)} ${fmt(v)}`)
          .join('  ')}`,
      );
    case 'error':
      return style.red(`error: ${t(String(event.message))}`);
    default:
      return undefined;
  }
}
