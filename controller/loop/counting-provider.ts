/**
 * Wraps a Provider so every verb is counted per resource kind and outcome, without the providers
 * knowing about metrics: `ok`, `error` (a response with error diagnostics) or `exception`.
 */
import { hasErrors, type Diagnostic } from '../../resources/diagnostic.js';
import type { Provider } from '../../providers/provider.js';
import type { CallOutcome } from './metrics.js';

export type CallCounter = (labels: {
  provider: string;
  kind: string;
  verb: string;
  outcome: CallOutcome;
}) => void;

const GROUP_KINDS = {
  trainingRuns: 'TrainingRun',
  registeredModels: 'RegisteredModel',
  deployedEndpoints: 'DeployedEndpoint',
  schedules: 'Schedule',
  artifacts: 'Artifact',
} as const;

function outcomeOf(result: unknown): CallOutcome {
  if (typeof result === 'object' && result !== null && 'diagnostics' in result) {
    const diagnostics = (result as { diagnostics: unknown }).diagnostics;
    if (Array.isArray(diagnostics) && hasErrors(diagnostics as Diagnostic[])) return 'error';
  }
  return 'ok';
}

/** A function that counts each call of `fn` once its promise settles. */
function counted<F extends (...args: never[]) => unknown>(fn: F, record: (outcome: CallOutcome) => void): F {
  const wrapped = (...args: Parameters<F>): unknown => {
    const result = fn(...args);
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          record(outcomeOf(value));
          return value;
        },
        (e: unknown) => {
          record('exception');
          throw e;
        },
      );
    }
    record(outcomeOf(result));
    return result;
  };
  return wrapped as F;
}

function countGroup<G extends object>(group: G, count: (verb: string, outcome: CallOutcome) => void): G {
  const out: Record<string, unknown> = {};
  for (const [verb, value] of Object.entries(group)) {
    out[verb] =
      typeof value === 'function'
        ? counted(value.bind(group) as (...args: never[]) => unknown, (outcome) => count(verb, outcome))
        : value;
  }
  return out as G;
}

export function countingProvider(provider: Provider, count: CallCounter): Provider {
  const name = provider.name;
  const group = <K extends keyof typeof GROUP_KINDS>(key: K): Provider[K] =>
    countGroup(provider[key], (verb, outcome) =>
      count({ provider: name, kind: GROUP_KINDS[key], verb, outcome }),
    );
  return {
    ...provider,
    trainingRuns: group('trainingRuns'),
    registeredModels: group('registeredModels'),
    deployedEndpoints: group('deployedEndpoints'),
    schedules: group('schedules'),
    artifacts: group('artifacts'),
    lock: counted(provider.lock.bind(provider), (outcome) =>
      count({ provider: name, kind: 'Lease', verb: 'lock', outcome }),
    ),
  };
}
