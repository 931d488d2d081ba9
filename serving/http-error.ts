/**
 * An answer other than 200, thrown anywhere below the HTTP layer and turned into
 * `{"error": "..."}` (TensorFlow Serving's error body) by the app. `problems` lists every field at
 * fault when there are several (a request with three bad instances hears about all three).
 */
export interface FieldProblem {
  /** `instances[3].Horsepower`, `inputs.Origin[1]`, `instances`. */
  path: string;
  message: string;
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly problems?: FieldProblem[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** "instances[0].Horsepower: expected a number, ...; instances[2]...", capped for readability. */
export function problemsError(status: number, problems: FieldProblem[], shown = 5): HttpError {
  const head = problems
    .slice(0, shown)
    .map((p) => (p.path ? `${p.path}: ${p.message}` : p.message))
    .join('; ');
  const more = problems.length > shown ? ` (and ${problems.length - shown} more)` : '';
  return new HttpError(status, `${head}${more}`, problems);
}
