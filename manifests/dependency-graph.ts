/** The dependency graph between resources: topological order (dependencies first) and cycles. */

export interface DependencyGraph {
  /** Addresses in a deterministic topological order: every resource after what it depends on. */
  order: string[];
  /** address -> addresses it depends on. */
  dependsOn: ReadonlyMap<string, readonly string[]>;
}

export interface GraphResult {
  graph: DependencyGraph;
  /** Each cycle as a closed path: [a, b, a]. */
  cycles: string[][];
}

export function buildDependencyGraph(
  nodes: readonly string[],
  edges: ReadonlyMap<string, readonly string[]>,
): GraphResult {
  const sorted = [...nodes].sort();
  const known = new Set(nodes);
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  const cycles: string[][] = [];
  const stack: string[] = [];

  // Iterative DFS would be needed only for chains deeper than the JS stack (~10k); dependsOn chains
  // that long do not occur in practice, and references are at most one level deep.
  const visit = (node: string): void => {
    const s = state.get(node);
    if (s === 'done') return;
    if (s === 'visiting') {
      cycles.push([...stack.slice(stack.indexOf(node)), node]);
      return;
    }
    state.set(node, 'visiting');
    stack.push(node);
    for (const dep of [...(edges.get(node) ?? [])].sort()) if (known.has(dep)) visit(dep);
    stack.pop();
    state.set(node, 'done');
    order.push(node);
  };
  for (const node of sorted) visit(node);
  return { graph: { order, dependsOn: edges }, cycles };
}
