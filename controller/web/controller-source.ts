/**
 * The dashboard's source in `mlform controller`: a snapshot after every completed reconcile, made
 * from what the reconcile already observed and planned (no extra list calls). While trainings run
 * the loop requeues every `--requeue`, so their curves move at that pace. The controller ignores
 * `touch`: it observes on its own schedule.
 */
import type { Provider, ProviderContext } from '../../providers/provider.js';
import type { ControllerStatus } from '../loop/status-schema.js';
import type { ReconcileReport } from '../loop/sync-loop.js';
import { SnapshotListeners } from './snapshot-listeners.js';
import type { DashboardSource, StackSnapshot } from './snapshot.js';

/** What the source needs of the loop. */
export interface ReconcilingLoop {
  onReconciled(listener: (report: ReconcileReport) => void): () => void;
  status(): ControllerStatus;
}

export class ControllerSource implements DashboardSource {
  private readonly listeners = new SnapshotListeners();
  private latest?: { snapshot: StackSnapshot; provider: Provider; ctx: ProviderContext };
  private readonly stop: () => void;

  constructor(private readonly loop: ReconcilingLoop) {
    this.stop = loop.onReconciled((report) => this.record(report));
  }

  current(): StackSnapshot | undefined {
    return this.latest?.snapshot;
  }

  subscribe(listener: (snapshot: StackSnapshot) => void): () => void {
    return this.listeners.add(listener);
  }

  get provider(): Provider {
    return this.opened().provider;
  }

  get ctx(): ProviderContext {
    return this.opened().ctx;
  }

  /** Stops listening to the loop. */
  close(): void {
    this.stop();
  }

  private opened(): { provider: Provider; ctx: ProviderContext } {
    // Views run only on a snapshot, which comes with its provider.
    if (!this.latest) throw new Error('no snapshot yet: the first reconcile is running');
    return this.latest;
  }

  private record(report: ReconcileReport): void {
    const { observed, plan } = report.final;
    const snapshot: StackSnapshot = {
      seq: (this.latest?.snapshot.seq ?? 0) + 1,
      observedAt: new Date().toISOString(),
      mode: 'controller',
      stack: report.ctx.stack,
      provider: report.desired.project?.config.provider ?? 'local',
      projectDir: report.ctx.projectDir,
      desired: report.desired,
      observed: observed.state,
      plan,
      statuses: report.resources,
      diagnostics: [...report.badCommit, ...observed.diagnostics.filter((d) => d.severity === 'error')],
      controller: () => this.loop.status().controller,
    };
    this.latest = { snapshot, provider: report.provider, ctx: report.ctx };
    this.listeners.emit(snapshot);
  }
}
