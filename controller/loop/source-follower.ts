/**
 * Source fetching and its timing: when the next fetch is due (every `pollMs` ±10% jitter, at once on
 * a webhook or a watched directory's change), and loading each revision once into the last good
 * desired state. A commit that does not load is a bad commit (reported once, never applied, even in
 * part); a loader that throws is a bug, reported once per revision and tried again on every pass.
 */
import type { Logger } from 'pino';
import type { ControllerMetrics } from './metrics.js';
import { describeDiagnostic, describeDiagnostics, thrownText } from './error-text.js';
import { LastGoodState, type BadRevision, type Choice } from './last-good-state.js';
import type { LoopStatus } from './loop-status.js';
import type { OpenProject, ProjectContext } from './loop-options.js';
import type { ManifestSource } from './source.js';

const jitter = (ms: number) => Math.round(ms * (0.9 + Math.random() * 0.2));

export interface SourceFollowerOptions {
  source: ManifestSource;
  openProject: OpenProject;
  /** Undefined: no polling (the source watches itself). */
  pollMs: number | undefined;
  log: Logger;
  metrics: ControllerMetrics;
  status: Pick<LoopStatus, 'recordError' | 'showError'>;
  /** A fetch became due before its time (a watched directory changed): wake the worker. */
  onDue: () => void;
}

export interface Fetched {
  /** The revision on disk; undefined while the source has never updated. */
  revision: string | undefined;
  changed: boolean;
  choice: Choice<ProjectContext>;
}

export class SourceFollower {
  /** When the next fetch is due (epoch ms); the first one at once. */
  dueAt = 0;
  /** The revision on disk (newest fetched). */
  revision: string | undefined;
  private readonly states = new LastGoodState<ProjectContext>();
  /** The revision whose loading last threw: its internal error is counted once, not every pass. */
  private internalLoadError: string | undefined;
  /** The last `local.stateDir` reported as ignored (logged once per value). */
  private ignoredStateDir: string | undefined;

  constructor(private readonly options: SourceFollowerOptions) {}

  start(): void {
    this.options.source.watch?.(() => {
      this.fetchNow();
      this.options.onDue();
    });
  }

  fetchNow(): void {
    this.dueAt = 0;
  }

  /** What to reconcile now, and the bad commit if the newest does not load. */
  current(): Choice<ProjectContext> {
    return this.states.current();
  }

  /** A revision's loading threw and has not loaded since: its error stays reported. */
  get loadFailing(): boolean {
    return this.internalLoadError !== undefined;
  }

  /** Brings the tree up to date and loads what it holds (a standby too: it campaigns with it). */
  async fetch(): Promise<Fetched> {
    const { source, pollMs } = this.options;
    const update = await source.update();
    this.dueAt = pollMs !== undefined ? Date.now() + jitter(pollMs) : Number.POSITIVE_INFINITY;
    if (update.diagnostics.length > 0) {
      this.options.status.recordError('source', describeDiagnostics(update.diagnostics));
    }
    if (update.revision === undefined) return { revision: undefined, changed: false, choice: this.current() };
    if (update.changed) {
      this.options.log.info({ commit: update.revision, source: source.description }, 'new revision');
    }
    this.revision = update.revision;
    return { revision: update.revision, changed: update.changed, choice: await this.load(update.revision) };
  }

  /** Loads the manifests of a revision once; a bad one keeps the last good desired state. */
  async load(revision: string): Promise<Choice<ProjectContext>> {
    const cached = this.states.cached(revision);
    if (cached) return cached;
    let loaded: Awaited<ReturnType<OpenProject>>;
    try {
      loaded = await this.options.openProject([this.options.source.manifestsPath], revision);
    } catch (e) {
      // A bug (the loader turns every input problem into a diagnostic): not the commit's fault, so
      // not a bad commit, and not cached: the next pass loads it again. Meanwhile the last good
      // desired state keeps being reconciled instead of every sync ending here.
      if (this.internalLoadError !== revision) {
        this.internalLoadError = revision;
        this.options.status.recordError(
          'internal',
          `loading commit ${revision} failed (${thrownText(e)}); keeping ${this.current().good?.revision ?? 'no'} desired state`,
        );
      }
      return this.current();
    }
    this.internalLoadError = undefined;
    const choice = this.states.record(revision, loaded);
    if (choice.newlyBad && choice.bad) this.reportBad(choice.bad, choice.good?.revision);
    if (choice.good && !choice.bad) this.noteIgnoredStateDir(choice.good.project);
    return choice;
  }

  close(): Promise<void> {
    return this.options.source.close();
  }

  private reportBad({ revision, diagnostics }: BadRevision, keeping: string | undefined): void {
    this.options.metrics.errors.inc({ type: 'validation' });
    this.options.status.showError(`commit ${revision} does not load: ${describeDiagnostics(diagnostics)}`);
    this.options.log.error(
      { commit: revision, keeping: keeping ?? null, diagnostics: diagnostics.map(describeDiagnostic) },
      keeping !== undefined
        ? 'manifests of the new commit do not load: keeping the last good desired state'
        : 'manifests do not load and there is no good commit yet',
    );
  }

  /** The controller keeps provider state in its own --state-dir, never where a commit says. */
  private noteIgnoredStateDir({ provider, desired }: ProjectContext): void {
    const stateDir = desired.project?.config.local.stateDir;
    if (!provider.capabilities.stateDirectory || stateDir === undefined) return;
    if (stateDir === this.ignoredStateDir) return;
    this.ignoredStateDir = stateDir;
    this.options.log.info(
      { stateDir },
      'local.stateDir of the manifests is ignored: the controller keeps state in its own --state-dir',
    );
  }
}
