/**
 * Your own trainer's progress lines turned into the events builtin runs write, so `get`,
 * `describe` and apply show epochs and an ETA the same way. A trainer prints one JSON object per
 * line on stdout: `{"type":"start","epochs":10}` once, `{"type":"epoch","epoch":3,"loss":0.4,
 * "metrics":{"val_mae":1.2}}` per epoch; mlform fills in what it can measure (elapsed, ETA).
 */
import type { ProgressEvent } from '../types.js';

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

function numbers(value: unknown): Record<string, number> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
      const n = num(v);
      return n === undefined ? [] : [[k, n]];
    }),
  );
}

function parse(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A reader of the trainer's stdout lines: an event for a progress line, undefined for anything else. */
export function progressReader(now: () => number = Date.now): (line: string) => ProgressEvent | undefined {
  const startedAt = now();
  let epochs: number | undefined;
  return (line) => {
    const value = parse(line.trim());
    if (!value) return undefined;
    if (value.type === 'start') {
      epochs = num(value.epochs) ?? epochs;
      return {
        type: 'start',
        epochs: epochs ?? 0,
        stepsPerEpoch: num(value.stepsPerEpoch) ?? 0,
        backend: 'command',
      };
    }
    if (value.type === 'epoch') {
      const epoch = num(value.epoch);
      if (epoch === undefined) return undefined;
      epochs = num(value.epochs) ?? epochs;
      const total = epochs ?? epoch;
      const metrics = numbers(value.metrics);
      const elapsedSeconds = (now() - startedAt) / 1000;
      const etaSeconds = epoch > 0 ? Math.max(0, (elapsedSeconds / epoch) * (total - epoch)) : 0;
      return {
        type: 'epoch',
        epoch,
        epochs: total,
        loss: num(value.loss) ?? metrics.loss ?? Number.NaN,
        metrics,
        elapsedSeconds,
        etaSeconds,
      };
    }
    return undefined;
  };
}
