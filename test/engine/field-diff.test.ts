import { describe, expect, it } from 'vitest';
import { diffValues, shortenString, wholeFields } from '../../controller/engine/field-diff.js';

describe('diffValues', () => {
  it('names nested leaves with their path, before and after', () => {
    const before = { trainer: { builtin: { hyperparameters: { epochs: 100, learningRate: 0.001 } } } };
    const after = { trainer: { builtin: { hyperparameters: { epochs: 5, learningRate: 0.003 } } } };
    expect(diffValues(before, after, 'spec')).toEqual([
      { path: 'spec.trainer.builtin.hyperparameters.epochs', before: 100, after: 5 },
      { path: 'spec.trainer.builtin.hyperparameters.learningRate', before: 0.001, after: 0.003 },
    ]);
  });

  it('diffs lists of one length by element, and lists whose length changed whole', () => {
    expect(diffValues({ layers: [64, 32] }, { layers: [64, 16] }, 'network')).toEqual([
      { path: 'network.layers[1]', before: 32, after: 16 },
    ]);
    expect(
      diffValues([{ machineType: 'a', spot: true }], [{ machineType: 'b', spot: true }], 'fallbacks'),
    ).toEqual([{ path: 'fallbacks[0].machineType', before: 'a', after: 'b' }]);
    expect(diffValues({ layers: [64, 32] }, { layers: [128, 64, 32] })).toEqual([
      { path: 'layers', before: [64, 32], after: [128, 64, 32] },
    ]);
  });

  it('shows added and removed map keys against null, and quotes keys that are not identifiers', () => {
    expect(diffValues({ a: '1' }, { 'mlform/x': '2' }, 'metadata.annotations')).toEqual([
      { path: 'metadata.annotations.a', before: '1', after: null },
      { path: 'metadata.annotations["mlform/x"]', before: null, after: '2' },
    ]);
  });

  it('shortens long strings at both ends and masks credentials, comparing the real values', () => {
    const long = (end: string) => `${'x'.repeat(200)}${end}`;
    const [field] = diffValues({ script: long('a') }, { script: long('b') });
    expect(field.before).toBe(`${'x'.repeat(60)}…${'x'.repeat(39)}a (201 chars)`);
    expect(field.after).toBe(`${'x'.repeat(60)}…${'x'.repeat(39)}b (201 chars)`);
    expect(shortenString('short')).toBe('short');

    const secret = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
    const fields = diffValues({ token: secret }, { token: `${secret}X` });
    expect(fields).toHaveLength(1);
    expect(JSON.stringify(fields)).not.toContain(secret);
  });

  it('shows a secretRef as the reference it is: the planner never has a value', () => {
    const env = (key: string) => ({ env: { TOKEN: { secretRef: { name: 'hub', key } } } });
    expect(diffValues(env('v1'), env('v2'), 'spec.trainer.container')).toEqual([
      { path: 'spec.trainer.container.env.TOKEN.secretRef.key', before: 'v1', after: 'v2' },
    ]);
    expect(wholeFields(env('v1'), 'spec', 'create')).toEqual([
      { path: 'spec.env', before: null, after: { TOKEN: { secretRef: { name: 'hub', key: 'v1' } } } },
    ]);
  });
});

describe('wholeFields', () => {
  it('lists the members of a created spec, opening those too long for a line', () => {
    const spec = {
      model: 'mpg',
      retry: { limit: 2 },
      trainer: { builtin: { task: 'regression', data: { uri: 'file://cars.json' }, notes: 'n'.repeat(100) } },
      absent: undefined,
    };
    expect(wholeFields(spec, 'spec', 'create')).toEqual([
      { path: 'spec.model', before: null, after: 'mpg' },
      { path: 'spec.retry', before: null, after: { limit: 2 } },
      { path: 'spec.trainer.builtin.data', before: null, after: { uri: 'file://cars.json' } },
      { path: 'spec.trainer.builtin.notes', before: null, after: 'n'.repeat(100) },
      { path: 'spec.trainer.builtin.task', before: null, after: 'regression' },
    ]);
    expect(wholeFields({ cron: '0 0 * * *' }, 'spec', 'delete')).toEqual([
      { path: 'spec.cron', before: '0 0 * * *', after: null },
    ]);
  });
});
