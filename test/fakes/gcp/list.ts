/** Paging (pageSize/pageToken) and the small AIP-160 filter subset Vertex list calls use. */
import { invalid, isRecord, type HandlerContext } from './http.js';

export interface PageOptions {
  defaultPageSize: number;
  maxPageSize: number;
}

export function page<T>(
  items: readonly T[],
  query: URLSearchParams,
  opts: PageOptions,
  sizeParam = 'pageSize',
): { items: T[]; nextPageToken?: string } {
  const rawSize = query.get(sizeParam);
  let size = rawSize ? Number(rawSize) : 0;
  if (!Number.isFinite(size) || size < 0) throw invalid(`Invalid ${sizeParam}: ${rawSize ?? ''}`);
  if (size === 0) size = opts.defaultPageSize;
  size = Math.min(size, opts.maxPageSize);
  const token = query.get('pageToken');
  let offset = 0;
  if (token) {
    const decoded = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^o:/, ''));
    if (!Number.isInteger(decoded) || decoded < 0) throw invalid('Invalid page token.');
    offset = decoded;
  }
  const slice = items.slice(offset, offset + size);
  const next =
    offset + size < items.length ? Buffer.from(`o:${offset + size}`).toString('base64url') : undefined;
  return next ? { items: slice, nextPageToken: next } : { items: slice };
}

interface Term {
  field: string;
  value: string;
  op: '=' | '!=' | ':';
}

/** Parses `labels.k="v" AND display_name="x" AND state=JOB_STATE_RUNNING`. */
export function parseFilter(filter: string | null): Term[] {
  if (!filter || !filter.trim()) return [];
  const terms: Term[] = [];
  for (const part of filter.split(/\s+AND\s+/i)) {
    const m = /^\s*([A-Za-z_][\w.-]*)\s*(!=|=|:)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))\s*$/.exec(part);
    if (!m) throw invalid(`Provided filter is not valid: ${filter}`);
    const [, field = '', op = '=', quoted, bare] = m;
    terms.push({
      field,
      op: op as Term['op'],
      value: quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? ''),
    });
  }
  return terms;
}

/** Evaluates terms against a resource with `labels`, `displayName`, `state`. */
export function matchFilter(terms: Term[], resource: Record<string, unknown>): boolean {
  return terms.every((t) => {
    let actual: string | undefined;
    if (t.field.startsWith('labels.')) {
      const labels = isRecord(resource.labels) ? resource.labels : {};
      const v = labels[t.field.slice('labels.'.length)];
      actual = typeof v === 'string' ? v : undefined;
      if (t.op === ':' && t.value === '*') return actual !== undefined;
    } else if (t.field === 'display_name' || t.field === 'displayName') {
      actual = typeof resource.displayName === 'string' ? resource.displayName : undefined;
    } else if (t.field === 'state') {
      actual = typeof resource.state === 'string' ? resource.state : undefined;
    } else {
      throw invalid(
        `Unsupported filter field "${t.field}" (the fake supports labels.*, display_name, state).`,
      );
    }
    if (t.op === '!=') return actual !== t.value;
    return actual === t.value;
  });
}

/**
 * A Vertex list answer: the resources of `projects/P/locations/L/<collection>/` that match the
 * request's filter, one page of them under `collection` (`{tensorboards: [...], nextPageToken}`).
 */
export function listInLocation(
  resources: Iterable<Record<string, unknown>>,
  ctx: HandlerContext,
  collection: string,
  opts: PageOptions,
  view: (resource: Record<string, unknown>) => Record<string, unknown>,
): Record<string, unknown> {
  const { project = '', location = '' } = ctx.params;
  const terms = parseFilter(ctx.query.get('filter'));
  const prefix = `projects/${project}/locations/${location}/${collection}/`;
  const all = [...resources].filter((r) => String(r.name).startsWith(prefix) && matchFilter(terms, r));
  const p = page(all, ctx.query, opts);
  const out: Record<string, unknown> = { [collection]: p.items.map(view) };
  if (p.nextPageToken) out.nextPageToken = p.nextPageToken;
  return out;
}

/** `update_mask` paths (`a_b,c`) in the camelCase of the JSON bodies (`aB`, `c`). */
export function maskPaths(raw: string): string[] {
  return raw
    .split(',')
    .map((p) => p.trim().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()))
    .filter(Boolean);
}
