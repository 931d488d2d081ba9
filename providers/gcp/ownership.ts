/**
 * Whose a cloud object is (README.md "Names and labels", "Ownership"). A name derived from
 * (stack, name) says which object mlform would use, never that the object found there is ours:
 * another stack (under the names before issue 18), a person or a tool may have made it. So every
 * update, version registration, alias move and delete first reads the object's labels (a
 * Scheduler job: its description) and refuses, naming the object, when they do not say
 * "this stack, this kind, this name".
 */
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { LABEL } from './names.js';

export interface Owner {
  stack: string;
  /** Lowercase kind, as in the `mlform-kind` label. */
  kind: string;
  name: string;
}

/** The owner the labels claim, if they carry all three ownership labels. */
export function ownerOfLabels(labels: Record<string, string> | null | undefined): Owner | undefined {
  const stack = labels?.[LABEL.stack];
  const kind = labels?.[LABEL.kind];
  const name = labels?.[LABEL.name];
  return stack && kind && name ? { stack, kind, name } : undefined;
}

export const sameOwner = (a: Owner | undefined, b: Owner): boolean =>
  a !== undefined && a.stack === b.stack && a.kind === b.kind && a.name === b.name;

const describeOwner = (o: Owner | undefined) =>
  o ? `stack ${o.stack}'s ${o.kind} ${o.name}` : 'no mlform owner (no mlform-stack/kind/name)';

/**
 * `gcp-not-owned`: the object at a name mlform derives for `wanted` belongs to someone else; it
 * was left untouched.
 */
export function notOwned(
  address: string,
  object: string,
  found: Owner | undefined,
  wanted: Owner,
): Diagnostic {
  return error(
    'gcp-not-owned',
    `${address}: ${object} exists and is not stack ${wanted.stack}'s (it carries ${describeOwner(found)}); it was left untouched`,
    {
      address,
      hint: `rename the ${wanted.kind === 'deployedendpoint' ? 'endpoint' : 'resource'}, or delete that object if nobody needs it`,
    },
  );
}
