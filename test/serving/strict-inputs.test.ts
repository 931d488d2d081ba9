/**
 * strictInputErrors on hand-written preprocess specs: which JSON types a categorical feature takes
 * depends on what training saw, and presence follows limits.missingFeatures.
 */
import { describe, expect, it } from 'vitest';
import { strictInputErrors } from '../../serving/strict-inputs.js';
import type { Preprocess } from '../../trainer/types.js';

const preprocess = (features: Preprocess['features']): Preprocess =>
  ({
    features,
    target: { type: 'numeric', name: 'y', mean: 0, std: 1 },
    encodedWidth: 0,
  }) as unknown as Preprocess;

const model = preprocess([
  { name: 'hp', type: 'numeric', mean: 0, std: 1, fill: 0 },
  { name: 'origin', type: 'categorical', vocabulary: ['USA', 'Japan', '<missing>'] },
  { name: 'cylinders', type: 'categorical', vocabulary: ['4', '6', '8', '<missing>'] },
  { name: 'flag', type: 'categorical', vocabulary: ['true', 'false'] },
  { name: 'zip', type: 'categorical', vocabulary: [], hashBuckets: 64 },
]);
const full = { hp: 1, origin: 'USA', cylinders: 4, flag: true, zip: 12345 };

const messages = (instances: unknown[], policy: 'explicit' | 'fill' | 'error' = 'explicit') =>
  strictInputErrors(model, instances, policy).map((e) => `${e.index}.${e.field}: ${e.message}`);

describe('strictInputErrors', () => {
  it('accepts a complete instance; numbers only where training values were numbers, booleans where booleans', () => {
    expect(messages([full, { ...full, cylinders: '6', zip: 'abc', flag: 'false' }])).toEqual([]);
    expect(
      messages([
        { ...full, origin: 1 },
        { ...full, origin: true },
        { ...full, cylinders: true },
        { ...full, flag: 1 },
      ]),
    ).toEqual([
      '0.origin: expected a string (a category such as "USA"), got number 1',
      '1.origin: expected a string (a category such as "USA"), got boolean true',
      '2.cylinders: expected a string (a category such as "4"), got boolean true',
      '3.flag: expected a string (a category such as "true"), got number 1',
    ]);
  });

  it('explicit: absent is an error, null and missing markers are not', () => {
    const { hp: _hp, ...partial } = full;
    expect(messages([partial])).toEqual([
      '0.hp: required: send a value, or null for a missing value (it then takes the training fill value)',
    ]);
    expect(messages([{ ...full, hp: null, origin: 'NA', cylinders: '' }])).toEqual([]);
  });

  it('fill accepts absent features; error refuses absent and null alike', () => {
    expect(messages([{}], 'fill')).toEqual([]);
    expect(messages([{ ...full, hp: null }], 'error')).toEqual([
      '0.hp: required (limits.missingFeatures is "error"); got a missing value',
    ]);
    expect(messages([{ ...full, hp: undefined }], 'error')).toEqual([
      '0.hp: required (limits.missingFeatures is "error")',
    ]);
  });

  it('forecasting: checks the rows of the window only', () => {
    const forecasting = { ...model, window: { size: 2, horizon: 1, timeColumn: 't' } } as Preprocess;
    const history = [{}, { ...full, y: 1 }, { ...full, y: 2, origin: 3 }];
    expect(
      strictInputErrors(forecasting, [{ history }], 'explicit').map(
        (e) => `${e.field}: ${e.message.slice(0, 20)}`,
      ),
    ).toEqual(['history[2].origin: expected a string (a']);
  });
});
