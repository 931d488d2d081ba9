/**
 * How resources and runs are named in messages, logs, plans and state: `Kind/name` for a resource
 * and `name#number` for one run of a TrainingRun. One place, so a grep for either finds them all.
 */
import type { Kind } from './kinds.js';

/** `TrainingRun/churn`: a resource's address. */
export const addressOf = (kind: Kind, name: string): string => `${kind}/${name}`;

export const trainingRunAddress = (name: string): string => addressOf('TrainingRun', name);
export const registeredModelAddress = (name: string): string => addressOf('RegisteredModel', name);
export const deployedEndpointAddress = (name: string): string => addressOf('DeployedEndpoint', name);
export const scheduleAddress = (name: string): string => addressOf('Schedule', name);

/** `churn#3`: one run of a TrainingRun. */
export const runRef = (run: { name: string; number: number }): string => `${run.name}#${run.number}`;

/** `TrainingRun/churn#3`: the address of a change that acts on one run (cancel, wait). */
export const runAddress = (run: { name: string; number: number }): string => trainingRunAddress(runRef(run));
