/**
 * What the dashboard is built from: a snapshot of the stack (desired state, observed state, plan,
 * statuses), taken by whoever serves the dashboard — the controller after each reconcile, `mlform
 * ui` by observing on its own — and the I/O a view may do on top of it (a run's log and artifact
 * files, an endpoint server's /metrics). Views are built from a snapshot on request and for each
 * open stream when a new snapshot arrives (controller/web/README.md).
 */
import type { Diagnostic } from '../../resources/diagnostic.js';
import type { DesiredState } from '../../manifests/load.js';
import type { ObservedState, Provider, ProviderContext } from '../../providers/provider.js';
import type { Plan } from '../engine/change.js';
import type { ControllerStatus, ResourceStatusView } from '../loop/status-schema.js';
import type { ApiDocument, ApiError, ApiRoute } from './api.js';

export interface StackSnapshot {
  /** Grows with every new snapshot of a source. */
  seq: number;
  /** When the actual state was observed (ISO 8601). */
  observedAt: string;
  mode: 'controller' | 'ui';
  stack: string;
  provider: 'local' | 'gcp';
  /** The project folder: diagnostics' and sources' files are shown relative to it. */
  projectDir: string;
  /** The desired state the plan was made from (the last one that loaded); undefined before any. */
  desired: DesiredState | undefined;
  observed: ObservedState;
  /** Undefined when there is no desired state to plan from. */
  plan: Plan | undefined;
  /** Per resource, with the controller's retry backoff folded in (`lastError`, `nextRetryAt`). */
  statuses: ResourceStatusView[];
  /** Problems of the whole stack: manifests that do not load (positioned), state that cannot be read. */
  diagnostics: Diagnostic[];
  /** Controller mode: the replica's status (commit, last sync, bad commit); read at build time. */
  controller?: () => ControllerStatus['controller'];
  /** `mlform ui`: the refresh interval in seconds. */
  refreshSeconds?: number;
}

/** Gives snapshots and says when there is a new one. */
export interface DashboardSource {
  /** The latest snapshot; undefined until the first observation finished. */
  current(): StackSnapshot | undefined;
  /** Called with each new snapshot; returns the unsubscribe function. */
  subscribe(listener: (snapshot: StackSnapshot) => void): () => void;
  /**
   * A viewer is looking (a request or an open stream): a source that observes on demand (`mlform
   * ui`) refreshes when its snapshot is older than its interval. The controller ignores it.
   */
  touch?(): void;
  /** The provider and a read-only context, for the reads views make beyond the snapshot. */
  provider: Provider;
  ctx: ProviderContext;
}

/** A view's I/O beyond the snapshot, injected so tests can fake it. */
export interface ViewIO {
  provider: Provider;
  /** Read-only (`readOnly: true`). */
  ctx: ProviderContext;
  now(): Date;
  /**
   * The text of a model server's Prometheus `/metrics`, for an endpoint URL the provider reported;
   * undefined when it cannot be read. Implementations only fetch loopback URLs.
   */
  scrapeMetrics(url: string): Promise<string | undefined>;
}

export type ViewResult = { status: 200; doc: ApiDocument } | { status: 404 | 400 | 503; error: ApiError };

/** Builds the document of a route from a snapshot (controller/web/views/). */
export type BuildView = (route: ApiRoute, snapshot: StackSnapshot, io: ViewIO) => Promise<ViewResult>;
