/**
 * Which version answers an unpinned `:predict`: smooth weighted round-robin (nginx's upstream
 * algorithm) over the versions' percents. Deterministic and exact: over any 100 consecutive
 * requests a 90/10 split sends 90 and 10, interleaved (not 90 then 10), so a local canary sees
 * its share at once and tests can count instead of sampling.
 */
export class TrafficSplit<T> {
  private readonly entries: { target: T; weight: number; current: number }[];
  private readonly total: number;

  constructor(weighted: readonly { target: T; percent: number }[]) {
    this.entries = weighted
      .filter((w) => w.percent > 0)
      .map((w) => ({ target: w.target, weight: w.percent, current: 0 }));
    this.total = this.entries.reduce((sum, e) => sum + e.weight, 0);
    if (this.entries.length === 0) throw new Error('no version takes traffic (every percent is 0)');
  }

  next(): T {
    const entries = this.entries;
    if (entries.length === 1) return entries[0].target;
    let best = entries[0];
    for (const e of entries) {
      e.current += e.weight;
      if (e.current > best.current) best = e;
    }
    best.current -= this.total;
    return best.target;
  }
}
