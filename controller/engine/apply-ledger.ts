/**
 * What one apply has seen and done across its passes: the diagnostics to return, the resources that
 * failed (nothing more of them is done), how often each change was carried out, the records that
 * could not be read, and the observation it ends with. The pass loop (apply.ts) asks it whether a
 * change may start and tells it how each one ended; it emits the matching events.
 */
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import type { ApplyEvent, ApplyResult } from './apply.js';
import type { Change } from './change.js';
import type { Outcome } from './apply-executor.js';
import { observationBlocks } from './observe.js';

/** A change carried out this often that the plan still asks for is not converging. */
const MAX_ATTEMPTS = 2;

export class ApplyLedger {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly failedResources = new Set<string>();
  private readonly attempts = new Map<string, number>();
  /** Resources whose actual state could not be read (observe.ts): never acted on in this apply. */
  private readonly damaged = new Map<string, Diagnostic[]>();
  private readonly seen = new Set<string>();
  private applied = 0;
  final: ApplyResult['final'];

  constructor(
    private readonly emit: (event: ApplyEvent) => void,
    private readonly filter: ((change: Change) => boolean) | undefined,
  ) {}

  allowed(change: Change): boolean {
    return this.filter ? this.filter(change) : true;
  }

  hasFailed(resource: string): boolean {
    return this.failedResources.has(resource);
  }

  /** Records an observation's diagnostics; false when an error blocks the whole apply. */
  noteObservation(found: readonly Diagnostic[], first = false): boolean {
    for (const d of found) {
      // Later observations add only errors not reported yet (a record damaged mid-apply).
      const key = `${d.code ?? ''}\u0000${d.address ?? ''}\u0000${d.message}`;
      if (first || (d.severity === 'error' && !this.seen.has(key))) this.diagnostics.push(d);
      this.seen.add(key);
    }
    const blocks = observationBlocks(found);
    for (const [address, ds] of blocks.resources) this.damaged.set(address, ds);
    return blocks.whole.length === 0;
  }

  /**
   * Whether an actionable change may take a slot now (the signal is checked by the caller). A change
   * whose resource failed, that is left out by the filter, or whose record is damaged is reported;
   * a deferred or blocked one waits silently for a later pass. Admitting counts an attempt.
   */
  admit(change: Change, dependenciesOk: boolean, deferred: boolean, aborted: () => boolean): boolean {
    if (this.failedResources.has(change.resource)) {
      this.emit({ type: 'skipped', change, reason: `${change.resource} failed earlier in this apply` });
      return false;
    }
    if (!dependenciesOk || deferred) return false;
    if (!this.allowed(change)) {
      this.emit({ type: 'skipped', change, reason: 'left out by the apply filter' });
      return false;
    }
    const damage = this.damaged.get(change.resource);
    if (damage) {
      // Its state could not be read: the plan's "create" is an artefact of that, never acted on.
      this.failedResources.add(change.resource);
      this.emit({ type: 'failed', change, diagnostics: damage });
      return false;
    }
    if (aborted()) return false;
    const attempts = this.attempts.get(change.address) ?? 0;
    if (attempts >= MAX_ATTEMPTS) {
      this.failedResources.add(change.resource);
      const d = error(
        'not-converging',
        `${change.address} was applied twice and is still not in the desired state`,
        {
          address: change.resource,
          hint: 'check the resource with `mlform describe` and its logs; the provider may be reporting stale state',
        },
      );
      this.diagnostics.push(d);
      this.emit({ type: 'failed', change, diagnostics: [d] });
      return false;
    }
    this.attempts.set(change.address, attempts + 1);
    return true;
  }

  /** How a change that was carried out ended: a failure fails its resource. */
  record(change: Change, outcome: Outcome): void {
    if (outcome.failed) {
      this.failedResources.add(change.resource);
      this.diagnostics.push(
        ...outcome.diagnostics.map((d) => ({ ...d, address: d.address ?? change.resource })),
      );
      this.emit({ type: 'failed', change, diagnostics: outcome.diagnostics });
      return;
    }
    this.diagnostics.push(...outcome.diagnostics);
    this.applied++;
    this.emit({ type: 'done', change });
  }

  /** Nothing failed and nothing was left unread. */
  get clean(): boolean {
    return this.failedResources.size === 0 && this.damaged.size === 0;
  }

  finish(ok: boolean, extra: readonly Diagnostic[] = []): ApplyResult {
    this.emit({ type: 'finished', ok, applied: this.applied, failed: this.failedResources.size });
    return {
      ok,
      applied: this.applied,
      failed: [...this.failedResources],
      diagnostics: [...this.diagnostics, ...extra],
      ...(this.final && { final: this.final }),
    };
  }
}
