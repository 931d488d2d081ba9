/** The 404 of a per-resource view: which kind and name, and the closest existing name. */
import { closest } from '../../../resources/suggest.js';
import type { ApiKind } from '../api.js';
import type { ViewResult } from '../snapshot.js';

export function notFound(
  kind: ApiKind,
  name: string,
  names: Iterable<string>,
  what = `${kind} "${name}"`,
): ViewResult {
  const list = [...names];
  const match = closest(name, list);
  const hint =
    match !== undefined
      ? `did you mean "${match}"?`
      : list.length > 0
        ? `the stack has ${list.length} ${kind}${list.length === 1 ? '' : 's'}; the overview lists them`
        : `the stack has no ${kind}`;
  return { status: 404, error: { error: `${what} is not in this stack`, hint } };
}
