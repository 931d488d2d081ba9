/**
 * The dashboard's source in `mlform ui`: no controller, so it observes by itself, on demand. A
 * viewer's request (`touch`) refreshes a snapshot older than the interval: the manifests are read
 * again (edits show at once; a tree that stops loading keeps the last good desired state and
 * shows why, positioned), then one read-only observation, its plan and the statuses. One refresh
 * runs at a time. Open streams touch the source on every snapshot they receive, so while one is
 * open it refreshes every interval; once none is, refreshing stops after the current interval.
 */
import type { Provider, ProviderContext } from '../../providers/provider.js';
import type { Diagnostic } from '../../resources/diagnostic.js';
import { errorMessage } from '../../resources/error-message.js';
import { error } from '../../resources/diagnostic.js';
import type { OperatorSettings } from '../cli/operator.js';
import type { LoadedProjectContext } from '../cli/project.js';
import { openForReading, readStack } from '../cli/stack-reading.js';
import { SnapshotListeners } from './snapshot-listeners.js';
import type { DashboardSource, StackSnapshot } from './snapshot.js';
import { resourceViews } from '../loop/loop-status.js';

export const DEFAULT_REFRESH_MS = 2000;

export interface UiSourceOptions {
  /** `-f` paths, read again on every refresh. */
  files: readonly string[];
  operator: OperatorSettings;
  /** The project as opened at start (it loaded: `mlform ui` refuses to start otherwise). */
  project: LoadedProjectContext;
  refreshMs?: number;
  now?: () => number;
}

/** No retry backoff outside the controller: every resource's status as `mlform get` shows it. */
const NO_BACKOFF = { get: () => undefined };

export class UiSource implements DashboardSource {
  private readonly listeners = new SnapshotListeners();
  private readonly refreshMs: number;
  private readonly now: () => number;
  private project: LoadedProjectContext;
  private snapshot?: StackSnapshot;
  private snapshotAt = Number.NEGATIVE_INFINITY;
  private lastTouch = Number.NEGATIVE_INFINITY;
  private running?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: UiSourceOptions) {
    this.project = options.project;
    this.refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS;
    this.now = options.now ?? Date.now;
  }

  current(): StackSnapshot | undefined {
    return this.snapshot;
  }

  subscribe(listener: (snapshot: StackSnapshot) => void): () => void {
    return this.listeners.add(listener);
  }

  get provider(): Provider {
    return this.project.provider;
  }

  get ctx(): ProviderContext {
    return { ...this.project.providerCtx, readOnly: true };
  }

  touch(): void {
    this.lastTouch = this.now();
    if (this.now() - this.snapshotAt >= this.refreshMs) void this.refresh();
  }

  /** Observes now, unless a refresh is running (then that one is awaited). */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.running ??= this.observe().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async observe(): Promise<void> {
    clearTimeout(this.timer);
    const started = this.now();
    const loadProblems = await this.reload();
    let snapshot: StackSnapshot;
    try {
      snapshot = await this.read(loadProblems);
    } catch (e) {
      // A provider that throws (a bug) must not end `mlform ui`: the page shows the message.
      const problem = error(
        'observe-failed',
        `reading the state failed: ${errorMessage(e).split('\n', 1)[0]}`,
      );
      if (!this.snapshot) return;
      snapshot = { ...this.snapshot, seq: this.snapshot.seq + 1, diagnostics: [...loadProblems, problem] };
    }
    if (this.closed) return;
    this.snapshot = snapshot;
    this.snapshotAt = this.now();
    this.listeners.emit(snapshot);
    // A viewer touched since this refresh began (an open stream touches on every snapshot): go on.
    if (this.lastTouch >= started && !this.closed) {
      this.timer = setTimeout(() => void this.refresh(), this.refreshMs);
      this.timer.unref();
    }
  }

  /** The manifests read again; their problems when they no longer load (the last good state stays). */
  private async reload(): Promise<Diagnostic[]> {
    const opened = await openForReading(this.options.files, this.options.operator);
    if (!opened.project) return opened.diagnostics;
    this.project = opened.project;
    return [];
  }

  private async read(loadProblems: Diagnostic[]): Promise<StackSnapshot> {
    const project = this.project;
    const reading = await readStack({ ...project, providerCtx: this.ctx });
    return {
      seq: (this.snapshot?.seq ?? 0) + 1,
      observedAt: new Date(this.now()).toISOString(),
      mode: 'ui',
      stack: project.providerCtx.stack,
      provider: project.desired.project?.config.provider ?? 'local',
      projectDir: project.providerCtx.projectDir,
      desired: project.desired,
      observed: reading.observation.state,
      plan: reading.plan,
      statuses: resourceViews(reading.statuses, NO_BACKOFF, null),
      diagnostics: [
        ...loadProblems,
        ...reading.observation.diagnostics.filter((d) => d.severity === 'error'),
      ],
      refreshSeconds: this.refreshMs / 1000,
    };
  }
}
