import { describe, expect, it } from 'vitest';
import { error, warning } from '../../resources/diagnostic.js';
import { LastGoodState } from '../../controller/loop/last-good-state.js';

describe('LastGoodState', () => {
  it('reconciles the newest good commit; a bad one keeps the last good state and is reported once', () => {
    const states = new LastGoodState<string>();
    expect(states.record('c1', { project: 'state-1', diagnostics: [warning('w', 'fine')] })).toEqual({
      good: { revision: 'c1', project: 'state-1' },
      newlyBad: false,
    });
    const bad = states.record('c2', {
      diagnostics: [error('unknown-field', 'keepVersion'), warning('w', 'x')],
    });
    expect(bad.good).toEqual({ revision: 'c1', project: 'state-1' });
    expect(bad.bad?.revision).toBe('c2');
    expect(bad.bad?.diagnostics.map((d) => d.code)).toEqual(['unknown-field']);
    expect(bad.newlyBad).toBe(true);
    expect(states.record('c2', { diagnostics: [error('unknown-field', 'keepVersion')] }).newlyBad).toBe(
      false,
    );
    expect(states.cached('c2')?.good?.revision).toBe('c1');

    const fixed = states.record('c3', { project: 'state-3', diagnostics: [] });
    expect(fixed).toEqual({ good: { revision: 'c3', project: 'state-3' }, newlyBad: false });
    expect(states.current().bad).toBeUndefined();
    expect(states.cached('c3')?.good?.project).toBe('state-3');
    expect(states.cached('c4')).toBeUndefined();
  });

  it('has nothing to reconcile while no commit ever loaded', () => {
    const states = new LastGoodState<string>();
    const choice = states.record('c1', { diagnostics: [error('no-project', 'no mlform.yaml')] });
    expect(choice.good).toBeUndefined();
    expect(choice.bad?.revision).toBe('c1');
  });

  it('a project loaded with error diagnostics is not good', () => {
    const states = new LastGoodState<string>();
    expect(states.record('c1', { project: 'x', diagnostics: [error('e', 'bad')] }).good).toBeUndefined();
  });
});
