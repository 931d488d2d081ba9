/**
 * A study's trials as the fold of its journal events (journal.ts): the engine applies each event
 * right after appending it, and a resumed study applies the replayed ones, so tuning.json written
 * from this state is the same whether the study ran straight through or was killed and resumed.
 */
import type { FinishedTrial, IntermediateValue } from './study-types.js';
import type { TrialParams } from './search-space.js';
import { JournalError, type JournalEvent } from './journal.js';
import { TRIALS_DIR, type TrialRecord, type TrialRun } from './tuning-file.js';

interface Launch {
  budget: number;
  resumed: boolean;
  startedAt: string;
}

const secondsBetween = (from: string, to: string): number =>
  Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);

export class StudyState {
  private readonly byTrial = new Map<number, TrialRecord>();
  /** The training of a trial in progress (launched, not ended). */
  private readonly launches = new Map<number, Launch>();

  apply(event: JournalEvent): void {
    if (event.type === 'study') return;
    if (event.type === 'asked') {
      if (this.byTrial.has(event.trial)) throw new JournalError(`trial ${event.trial} was asked twice`);
      this.byTrial.set(event.trial, newRecord(event.trial, event.params));
      return;
    }
    const record = this.byTrial.get(event.trial);
    if (!record) throw new JournalError(`event ${event.type} of trial ${event.trial}, which was never asked`);
    switch (event.type) {
      case 'launched': {
        // A launch still open means the process that launched it died: that training was cut short.
        this.closeLaunch(record, event.at, 'cancelled', 'interrupted: the study process ended');
        this.launches.set(event.trial, { budget: event.budget, resumed: event.resumed, startedAt: event.at });
        record.state = 'running';
        record.budget = event.budget;
        return;
      }
      case 'epoch': {
        record.intermediate = withValue(record.intermediate ?? [], {
          epoch: event.epoch,
          value: event.value,
        });
        record.epochs = event.epoch;
        if (event.rung !== undefined) record.rung = event.rung;
        if (event.bracket !== undefined) record.bracket = event.bracket;
        return;
      }
      case 'pruned': {
        record.prunedAt = { epoch: event.epoch, reason: event.reason };
        if (event.rung !== undefined) record.rung = event.rung;
        if (event.bracket !== undefined) record.bracket = event.bracket;
        return;
      }
      case 'ended': {
        record.state = event.state;
        record.metric = event.metric;
        record.epochs = event.epochs;
        if (event.values !== undefined) record.values = event.values;
        if (event.score !== undefined) record.score = event.score;
        if (event.penalty !== undefined) record.penalty = event.penalty;
        if (event.error !== undefined) record.error = event.error;
        else delete record.error;
        this.closeLaunch(record, event.at, event.state === 'failed' ? 'failed' : 'succeeded', event.error);
        return;
      }
    }
  }

  /** Every trial asked so far, in trial order. */
  records(): TrialRecord[] {
    return [...this.byTrial.values()].sort((a, b) => a.trial - b.trial);
  }

  get(trial: number): TrialRecord | undefined {
    return this.byTrial.get(trial);
  }

  get size(): number {
    return this.byTrial.size;
  }

  /** What a sampler learns from: the trials that ended, in trial order. */
  finished(): FinishedTrial[] {
    return this.records()
      .filter((r): r is TrialRecord & { state: FinishedTrial['state'] } => isEnded(r))
      .map((r) => ({
        trial: r.trial,
        params: r.params,
        state: r.state,
        score: r.state === 'failed' ? null : (r.score ?? r.metric),
        intermediate: r.intermediate ?? [],
      }));
  }

  /** Trials asked and not ended (they train now, or resume when the study does). */
  open(): TrialRecord[] {
    return this.records().filter((r) => !isEnded(r));
  }

  /**
   * Marks the open trials cancelled (the study stops without them; the journal keeps them open,
   * so a resumed study trains them on). Only tuning.json shows this.
   */
  cancelOpen(at: string, reason: string): void {
    for (const record of this.open()) {
      this.closeLaunch(record, at, 'cancelled', reason);
      record.state = 'cancelled';
    }
  }

  private closeLaunch(record: TrialRecord, at: string, state: TrialRun['state'], error?: string): void {
    const launch = this.launches.get(record.trial);
    if (!launch) return;
    this.launches.delete(record.trial);
    const seconds = secondsBetween(launch.startedAt, at);
    record.seconds += seconds;
    record.runs.push({
      rung: record.rung ?? 0,
      budget: launch.budget,
      resumed: launch.resumed,
      state,
      metric: state === 'succeeded' ? record.metric : null,
      epochs: record.epochs,
      startedAt: launch.startedAt,
      finishedAt: at,
      seconds,
      ...(error !== undefined && { error }),
    });
  }
}

export const isEnded = (r: TrialRecord): boolean =>
  r.state === 'completed' || r.state === 'pruned' || r.state === 'failed';

/** The values before `value`'s epoch, then it: a resumed training repeats the epochs after its checkpoint. */
function withValue(values: IntermediateValue[], value: IntermediateValue): IntermediateValue[] {
  return [...values.filter((v) => v.epoch < value.epoch), value];
}

/** A trial before it trained: asked (pending), or never asked when its study stopped (cancelled). */
export function newRecord(
  trial: number,
  params: TrialParams,
  state: TrialRecord['state'] = 'pending',
): TrialRecord {
  return {
    trial,
    dir: `${TRIALS_DIR}/${trial}`,
    params,
    state,
    rung: null,
    budget: null,
    epochs: null,
    metric: null,
    seconds: 0,
    runs: [],
    intermediate: [],
  };
}
