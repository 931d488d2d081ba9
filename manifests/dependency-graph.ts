/**
 * The dependency graph between resources: topological order (dependencies first), cycles, and how
 * deep the deepest chain goes.
 *
 * Every edge comes from a manifest, so the graph is as large and as deep as a commit makes it. The
 * walk is an explicit stack, never recursion: a 20,000-document `dependsOn` chain overflowed the
 * JavaScript stack of a recursive walk and ended the load with a `RangeError` (issue 18, item 4).
 */

export interface DependencyGraph {
  /** Addresses in a deterministic topological order: every resource after what it depends on. */
  order: string[];
  /** address -> addresses it depends on. */
  dependsOn: ReadonlyMap<string, readonly string[]>;
}

export interface GraphResult {
  graph: DependencyGraph;
  /** Each cycle as a closed path: [a, b, a]. At most MAX_CYCLES_FOUND, in the order found. */
  cycles: string[][];
  /** Cycles beyond the ones listed (each back edge of the walk closes one). */
  moreCycles: number;
  /**
   * The first resource (in `order`) whose longest chain of dependencies, itself included, is longer
   * than `maxDepth`, with the dependency that chain goes through; undefined when none is.
   */
  tooDeep?: { node: string; via: string; depth: number };
}

/**
 * Past this many, cycles are only counted: each one costs its length to list, and a commit can
 * close thousands of long ones.
 */
export const MAX_CYCLES_FOUND = 10;

interface Frame {
  node: string;
  /** Its known dependencies, sorted; `next` is the index of the one to visit next. */
  deps: string[];
  next: number;
}

export function buildDependencyGraph(
  nodes: readonly string[],
  edges: ReadonlyMap<string, readonly string[]>,
  maxDepth = Number.POSITIVE_INFINITY,
): GraphResult {
  const known = new Set(nodes);
  const state = new Map<string, 'visiting' | 'done'>();
  /** Position of each node on the current path, so a back edge finds its cycle in O(1). */
  const onPath = new Map<string, number>();
  const depth = new Map<string, number>();
  const order: string[] = [];
  const cycles: string[][] = [];
  let moreCycles = 0;
  let tooDeep: GraphResult['tooDeep'];
  const path: Frame[] = [];

  const enter = (node: string): void => {
    state.set(node, 'visiting');
    onPath.set(node, path.length);
    const deps = [...new Set(edges.get(node) ?? [])].filter((d) => known.has(d)).sort();
    path.push({ node, deps, next: 0 });
  };
  const leave = (frame: Frame): void => {
    path.pop();
    onPath.delete(frame.node);
    state.set(frame.node, 'done');
    order.push(frame.node);
    // Dependencies still on the path (a cycle) do not count: the cycle is an error of its own.
    let deepest = 0;
    let via = '';
    for (const dep of frame.deps) {
      const d = depth.get(dep) ?? 0;
      if (d > deepest) [deepest, via] = [d, dep];
    }
    depth.set(frame.node, deepest + 1);
    if (deepest + 1 > maxDepth && tooDeep === undefined) {
      tooDeep = { node: frame.node, via, depth: deepest + 1 };
    }
  };

  // Nodes in sorted order and each node's dependencies in sorted order: the same inputs give the
  // same order whatever order the files were read in.
  for (const root of [...nodes].sort()) {
    if (state.has(root)) continue;
    enter(root);
    while (path.length > 0) {
      const frame = path[path.length - 1];
      if (frame.next >= frame.deps.length) {
        leave(frame);
        continue;
      }
      const dep = frame.deps[frame.next++];
      const s = state.get(dep);
      if (s === 'done') continue;
      if (s === 'visiting') {
        if (cycles.length < MAX_CYCLES_FOUND) {
          const from = onPath.get(dep) ?? 0;
          cycles.push([...path.slice(from).map((f) => f.node), dep]);
        } else {
          moreCycles++;
        }
        continue;
      }
      enter(dep);
    }
  }
  return { graph: { order, dependsOn: edges }, cycles, moreCycles, tooDeep };
}
