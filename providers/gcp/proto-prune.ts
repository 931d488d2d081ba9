/**
 * A protobufjs JSON namespace cut down to what one service needs: the service (and the
 * long-running Operations service its client polls through the same root), every type their
 * methods name (requests, responses, long-running operations' results and metadata) and, through
 * their fields, every type those reach. The Vertex AI file describes some thirty services and
 * ~1,000 messages; a plan's two clients need a fraction of them, and parsing and resolving the
 * rest was most of the first client's cost (README.md "Start-up").
 *
 * References resolve the way protobufjs resolves them (relative names from the innermost scope
 * outwards); where a name could mean several types, all of them are kept, so the cut is never
 * missing a type the full file would have resolved (an unresolvable one throws when the root is
 * resolved, and every client test builds its root).
 */
type Json = {
  nested?: Record<string, Json>;
  fields?: Record<string, { type: string; keyType?: string }>;
  methods?: Record<string, { requestType: string; responseType: string; options?: Record<string, unknown> }>;
  values?: unknown;
  extend?: string;
} & Record<string, unknown>;

const OPERATIONS = 'google.longrunning.Operations';

/** `a.b.C` -> the node, for every namespace, message, enum and service in `root`. */
function indexOf(root: Json): Map<string, Json> {
  const index = new Map<string, Json>();
  const stack: [string, Json][] = [['', root]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [name, node] = item;
    for (const [key, child] of Object.entries(node.nested ?? {})) {
      if (child.extend !== undefined) continue;
      const full = name ? `${name}.${key}` : key;
      index.set(full, child);
      stack.push([full, child]);
    }
  }
  return index;
}

/** Every existing type `ref` can mean from inside `scope` (protobufjs looks outwards). */
function candidates(index: Map<string, Json>, scope: string, ref: string): string[] {
  if (ref.startsWith('.')) return index.has(ref.slice(1)) ? [ref.slice(1)] : [];
  const found: string[] = [];
  for (let s = scope; ; s = s.slice(0, Math.max(0, s.lastIndexOf('.')))) {
    const full = s ? `${s}.${ref}` : ref;
    if (index.has(full)) found.push(full);
    if (!s) return found;
  }
}

/**
 * `root` with only `service` (a full name, e.g. `google.cloud.aiplatform.v1.JobService`) and what
 * it reaches; `undefined` when `root` has no such service (the caller keeps the whole file).
 */
export function pruneToService(json: object, service: string): Json | undefined {
  const index = indexOf(json as Json);
  if (!index.get(service)?.methods) return undefined;
  // The client polls its long-running operations through the same root.
  return cut(json as Json, index, [service, ...(index.has(OPERATIONS) ? [OPERATIONS] : [])]);
}

/** The same cut from messages (full names): what decoding them needs (rest-lists.ts). */
export function pruneToTypes(json: object, types: readonly string[]): Json | undefined {
  const index = indexOf(json as Json);
  if (!types.every((t) => index.get(t)?.fields)) return undefined;
  return cut(json as Json, index, [...types]);
}

function cut(root: Json, index: Map<string, Json>, todo: string[]): Json {
  const kept = new Set<string>();
  const refer = (scope: string, ref: unknown) => {
    if (typeof ref === 'string') for (const name of candidates(index, scope, ref)) todo.push(name);
  };
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    if (kept.has(name)) continue;
    kept.add(name);
    const node = index.get(name);
    if (!node) continue;
    const scope = name.slice(0, Math.max(0, name.lastIndexOf('.')));
    // A message resolves from inside itself first (its nested types), a service from its package.
    for (const field of Object.values(node.fields ?? {})) refer(name, field.type);
    for (const method of Object.values(node.methods ?? {})) {
      refer(scope, method.requestType);
      refer(scope, method.responseType);
      // Long-running operations name their result and metadata types in options, as strings.
      for (const value of Object.values(method.options ?? {})) refer(scope, value);
    }
    // A kept message keeps its nested types (and what they reach).
    for (const [key, child] of Object.entries(node.nested ?? {}))
      if (child.extend === undefined && node.fields) todo.push(`${name}.${key}`);
  }
  // The kept types and the namespaces leading to them.
  const wanted = new Set<string>();
  for (const name of kept)
    for (let n = name; n && !wanted.has(n); n = n.slice(0, Math.max(0, n.lastIndexOf('.')))) wanted.add(n);
  return copyKept(root, '', wanted);
}

/** `node` with only the `wanted` names below it; a kept type is copied whole. */
function copyKept(node: Json, name: string, wanted: Set<string>): Json {
  if (name && (node.fields || node.values || node.methods)) return node;
  const nested: Record<string, Json> = {};
  for (const [key, child] of Object.entries(node.nested ?? {})) {
    const full = name ? `${name}.${key}` : key;
    if (wanted.has(full)) nested[key] = copyKept(child, full, wanted);
  }
  return { ...node, nested };
}
