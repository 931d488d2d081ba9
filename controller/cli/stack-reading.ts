/**
 * Reading a stack without acting on it, as `mlform get` and `mlform ui` do: the project opened
 * read-only (the policy never refuses reading), then one observation, its plan and the statuses.
 */
import type { Diagnostic } from '../../resources/diagnostic.js';
import type { Plan } from '../engine/change.js';
import { observe, type Observation } from '../engine/observe.js';
import { plan as makePlan } from '../engine/plan.js';
import { resourceStatus, type ResourceStatus } from '../engine/status.js';
import type { OperatorSettings } from './operator.js';
import { openProject, type LoadedProjectContext } from './project.js';

/** The project as a reader opens it: a tree that breaks the policy can still be inspected. */
export function openForReading(
  files: readonly string[],
  operator: OperatorSettings,
): Promise<{ project?: LoadedProjectContext; diagnostics: Diagnostic[] }> {
  return openProject(files, { operator, enforcePolicy: false, readOnly: true });
}

export interface StackReading {
  observation: Observation;
  plan: Plan;
  statuses: ResourceStatus[];
}

/** One round of list calls, the plan from it and every resource's status. */
export async function readStack(project: LoadedProjectContext): Promise<StackReading> {
  const observation = await observe(project.provider, project.providerCtx);
  const plan = makePlan(project.desired, observation.state);
  return { observation, plan, statuses: resourceStatus(project.desired, observation.state, plan) };
}
