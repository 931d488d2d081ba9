/**
 * The live apply view on a terminal (Ink): one line per change with its state, and for trainings
 * the epoch, loss and ETA as they progress. Under CI or a pipe, apply-progress.ts prints plain
 * lines instead; `--json` prints the event stream.
 */
import { runRef } from '../../resources/address.js';
import { Box, Text, render, type Instance } from 'ink';
import { useEffect, useState } from 'react';
import type { ApplyEvent } from '../engine/apply.js';
import { escapeTerminal as t } from './escape.js';
import { formatDuration } from './training-progress.js';

type LineState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

interface Line {
  address: string;
  action: string;
  state: LineState;
  detail: string;
}

export interface ApplyViewModel {
  lines: Line[];
  runs: { key: string; text: string; state: string }[];
  finished?: { ok: boolean; applied: number; failed: number };
}

/** Folds one event into the view model (pure, so it is tested without a terminal). */
export function reduceApplyView(model: ApplyViewModel, event: ApplyEvent): ApplyViewModel {
  const upsert = (address: string, patch: Partial<Line> & { action: string }): Line[] => {
    const index = model.lines.findIndex((l) => l.address === address);
    if (index === -1) return [...model.lines, { address, state: 'pending', detail: '', ...patch }];
    return model.lines.map((l, i) => (i === index ? { ...l, ...patch } : l));
  };
  switch (event.type) {
    case 'plan':
      return {
        ...model,
        lines: event.plan.changes
          .filter((c) => c.action !== 'noop' && c.action !== 'wait')
          .reduce<Line[]>(
            (lines, c) =>
              lines.some((l) => l.address === c.address)
                ? lines
                : [...lines, { address: c.address, action: c.action, state: 'pending', detail: c.reason }],
            model.lines,
          ),
      };
    case 'start':
      return {
        ...model,
        lines: upsert(event.change.address, { action: event.change.action, state: 'running' }),
      };
    case 'done':
      return {
        ...model,
        lines: upsert(event.change.address, { action: event.change.action, state: 'done' }),
      };
    case 'failed':
      return {
        ...model,
        lines: upsert(event.change.address, {
          action: event.change.action,
          state: 'failed',
          detail: event.diagnostics.map((d) => d.message).join('; '),
        }),
      };
    case 'skipped':
      return {
        ...model,
        lines: upsert(event.change.address, {
          action: event.change.action,
          state: 'skipped',
          detail: event.reason,
        }),
      };
    case 'progress': {
      const runs = [...model.runs];
      for (const r of event.runs) {
        const key = runRef(r);
        const p = r.progress;
        const text = p
          ? p.trial
            ? `trial ${p.trial.done}/${p.trial.of}`
            : `epoch ${p.epoch}/${p.epochs}${p.loss !== undefined ? `  loss ${p.loss.toFixed(4)}` : ''}${
                p.etaSeconds !== undefined ? `  eta ${formatDuration(p.etaSeconds)}` : ''
              }`
          : '';
        const entry = { key, text, state: r.state };
        const index = runs.findIndex((x) => x.key === key);
        if (index === -1) runs.push(entry);
        else runs[index] = entry;
      }
      return { ...model, runs };
    }
    case 'finished':
      return { ...model, finished: { ok: event.ok, applied: event.applied, failed: event.failed } };
  }
}

const MARK: Record<LineState, { glyph: string; color: string }> = {
  pending: { glyph: '·', color: 'gray' },
  running: { glyph: '…', color: 'yellow' },
  done: { glyph: '✓', color: 'green' },
  failed: { glyph: '✗', color: 'red' },
  skipped: { glyph: '-', color: 'gray' },
};

/** Addresses, reasons and error messages come from manifests, state and clouds: escaped (escape.ts). */
export function ApplyView({ model }: { model: ApplyViewModel }) {
  return (
    <Box flexDirection="column">
      {model.lines.map((line) => (
        <Text key={line.address}>
          <Text color={MARK[line.state].color}>{MARK[line.state].glyph}</Text> {t(line.address)}{' '}
          <Text dimColor>
            {line.action}
            {line.detail ? `: ${t(line.detail)}` : ''}
          </Text>
        </Text>
      ))}
      {model.runs.map((run) => (
        <Text key={run.key}>
          <Text color={run.state === 'running' ? 'yellow' : run.state === 'succeeded' ? 'green' : 'red'}>
            ▸
          </Text>{' '}
          TrainingRun/
          {t(run.key)} {t(run.state)} <Text dimColor>{run.text}</Text>
        </Text>
      ))}
      {model.finished ? (
        <Text color={model.finished.ok ? 'green' : 'red'}>
          {model.finished.ok
            ? `Apply complete: ${model.finished.applied} change${model.finished.applied === 1 ? '' : 's'} applied.`
            : `Apply finished with errors: ${model.finished.applied} applied, ${model.finished.failed} resource(s) failed.`}
        </Text>
      ) : null}
    </Box>
  );
}

/** A live view fed by apply events; `emit` pushes an event, `done` unmounts after the last frame. */
export function startApplyView(): { emit: (event: ApplyEvent) => void; done: () => Promise<void> } {
  let push: (event: ApplyEvent) => void = () => {};
  const queued: ApplyEvent[] = [];
  function Live() {
    const [model, setModel] = useState<ApplyViewModel>(() =>
      queued.reduce(reduceApplyView, { lines: [], runs: [] }),
    );
    useEffect(() => {
      push = (event) => setModel((m) => reduceApplyView(m, event));
    }, []);
    return <ApplyView model={model} />;
  }
  const instance: Instance = render(<Live />);
  return {
    emit: (event) => {
      queued.push(event);
      push(event);
    },
    done: async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}
