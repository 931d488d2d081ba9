/**
 * Which desired state to reconcile: the newest commit's when its manifests load, otherwise the
 * last good one (Argo CD keeps the last synced state while a commit fails to render). A bad commit
 * is reported once and stays reported until a good commit replaces it.
 */
import { hasErrors, type Diagnostic } from '../../resources/diagnostic.js';

export interface BadRevision {
  revision: string;
  diagnostics: Diagnostic[];
}

export interface Choice<P> {
  /** What to reconcile now; undefined while no commit has ever loaded. */
  good?: { revision: string; project: P };
  bad?: BadRevision;
  /** This call saw the bad revision for the first time (log and count it once). */
  newlyBad: boolean;
}

export class LastGoodState<P> {
  private good?: { revision: string; project: P };
  private bad?: BadRevision;

  /** The desired state already loaded for this revision (a requeue of an unchanged commit). */
  cached(revision: string): Choice<P> | undefined {
    if (this.good?.revision === revision && this.bad === undefined)
      return { good: this.good, newlyBad: false };
    if (this.bad?.revision === revision) return { good: this.good, bad: this.bad, newlyBad: false };
    return undefined;
  }

  record(revision: string, loaded: { project?: P; diagnostics: Diagnostic[] }): Choice<P> {
    if (loaded.project !== undefined && !hasErrors(loaded.diagnostics)) {
      this.good = { revision, project: loaded.project };
      this.bad = undefined;
      return { good: this.good, newlyBad: false };
    }
    const newlyBad = this.bad?.revision !== revision;
    this.bad = { revision, diagnostics: loaded.diagnostics.filter((d) => d.severity === 'error') };
    return { good: this.good, bad: this.bad, newlyBad };
  }

  current(): Choice<P> {
    return { good: this.good, bad: this.bad, newlyBad: false };
  }
}
