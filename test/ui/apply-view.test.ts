import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { render } from 'ink-testing-library';
import { ApplyView, reduceApplyView, type ApplyViewModel } from '../../controller/ui/apply-view.js';
import type { ApplyEvent } from '../../controller/engine/apply.js';
import type { Change, Plan } from '../../controller/engine/change.js';

const change = (address: string, action: Change['action'], reason: string) =>
  ({
    address,
    action,
    reason,
    resource: address,
    kind: 'TrainingRun',
    fields: [],
    dependsOn: [],
  }) as unknown as Change;

const plan = (changes: Change[]) => ({ changes }) as unknown as Plan;

describe('the live apply view', () => {
  it('shows a line per change, training progress and the outcome', () => {
    const run = change('TrainingRun/mpg-mlp', 'create', 'starts mpg-mlp#1');
    const model = change('RegisteredModel/mpg', 'create', 'new model');
    const events: ApplyEvent[] = [
      { type: 'plan', plan: plan([model, run, change('RegisteredModel/mpg', 'noop', 'unchanged')]), pass: 1 },
      { type: 'start', change: model },
      { type: 'done', change: model },
      { type: 'start', change: run },
      {
        type: 'progress',
        runs: [
          {
            name: 'mpg-mlp',
            number: 1,
            specHash: 'h',
            state: 'running',
            attempt: 1,
            createdAt: '',
            annotations: {},
            progress: { epoch: 12, epochs: 150, loss: 0.1421, etaSeconds: 7 },
          },
        ],
      },
    ];
    const state = events.reduce<ApplyViewModel>(reduceApplyView, { lines: [], runs: [] });
    const frame = render(createElement(ApplyView, { model: state })).lastFrame() ?? '';
    expect(frame).toContain('✓ RegisteredModel/mpg create');
    expect(frame).toContain('… TrainingRun/mpg-mlp create');
    expect(frame).toContain('TrainingRun/mpg-mlp#1 running epoch 12/150  loss 0.1421  eta 7s');
    expect(frame).not.toContain('unchanged');

    const finished = reduceApplyView(state, { type: 'finished', ok: true, applied: 2, failed: 0 });
    expect(render(createElement(ApplyView, { model: finished })).lastFrame()).toContain(
      'Apply complete: 2 changes applied.',
    );
  });

  it('shows reasons and provider errors from data as escapes, never as terminal sequences', () => {
    const model = change(
      'RegisteredModel/mpg',
      'create',
      'new model: \u001b[2K\u001b[1APlan: 0 to add\u202e',
    );
    const state = [
      { type: 'plan', plan: plan([model]), pass: 1 },
      {
        type: 'failed',
        change: model,
        diagnostics: [{ severity: 'error', code: 'x', message: 'cloud says \u001b[8mhidden\u009b2K' }],
      },
    ].reduce<ApplyViewModel>((m, e) => reduceApplyView(m, e as ApplyEvent), { lines: [], runs: [] });
    const frame = render(createElement(ApplyView, { model: state })).lastFrame() ?? '';
    expect(frame).toContain('cloud says \\x1b[8mhidden\\u009b2K');
    // Ink's own colours aside, no escape sequence or C1/bidi control comes from the data.
    // eslint-disable-next-line no-control-regex -- looking for control characters is the test
    expect(frame.replace(/\u001b\[\d+m/g, '')).not.toMatch(/[\u001b\u009b\u202e]/);
  });
});
