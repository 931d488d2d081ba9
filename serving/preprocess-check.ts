/** The structural check of a preprocess.json the server is about to serve (builtin and ONNX). */
import type { Preprocess } from '../artifact/preprocess/types.js';
import { ArtifactError } from './artifact-error.js';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isPositiveIntegers = (value: unknown): value is number[] =>
  Array.isArray(value) && value.length > 0 && value.every((d) => Number.isInteger(d) && (d as number) > 0);

/**
 * A structural check of preprocess.json: enough that a corrupt or foreign file fails at load with
 * a sentence, not at the first request with a TypeError. The encoder checks the rest.
 */
export function checkPreprocess(value: unknown, uri: string): Preprocess {
  const fail = (what: string): never => {
    throw new ArtifactError(`${uri}: ${what}`);
  };
  if (!isRecord(value)) return fail('expected a JSON object');
  if (value.formatVersion !== 1)
    return fail(`formatVersion ${JSON.stringify(value.formatVersion)} is not supported (expected 1)`);
  if (!['regression', 'classification', 'forecasting'].includes(String(value.task)))
    return fail('task is missing or unknown');
  if (
    !Array.isArray(value.features) ||
    !value.features.every((f) => isRecord(f) && typeof f.name === 'string')
  ) {
    return fail('features must be a list of {name, type, ...}');
  }
  const target = value.target;
  if (!isRecord(target) || typeof target.name !== 'string') return fail('target must be {type, name, ...}');
  if (target.type === 'label') {
    if (
      !Array.isArray(target.labels) ||
      target.labels.length < 2 ||
      !target.labels.every((l) => typeof l === 'string')
    ) {
      return fail('target.labels must be at least 2 strings');
    }
  } else if (target.type !== 'numeric' || typeof target.mean !== 'number' || typeof target.std !== 'number') {
    return fail('target must be {type: "numeric", mean, std} or {type: "label", labels}');
  }
  if (!isPositiveIntegers(value.inputShape)) return fail('inputShape must be a list of positive integers');
  if (typeof value.encodedWidth !== 'number') return fail('encodedWidth is missing');
  if (value.task === 'forecasting' && !isRecord(value.window)) return fail('forecasting needs window');
  return value as unknown as Preprocess;
}
