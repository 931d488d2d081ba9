import { describe, expect, it } from 'vitest';
import {
  addressOf,
  deployedEndpointAddress,
  registeredModelAddress,
  runAddress,
  runRef,
  scheduleAddress,
  trainingRunAddress,
} from '../../resources/address.js';
import { errorMessage } from '../../resources/error-message.js';
import { KINDS } from '../../resources/kinds.js';
import { ResourceAddressPattern } from '../../resources/metadata.js';

describe('resource addresses', () => {
  it('spells Kind/name, the form dependsOn accepts, for every kind', () => {
    const pattern = new RegExp(ResourceAddressPattern);
    for (const kind of KINDS) {
      expect(addressOf(kind, 'churn-v2')).toBe(`${kind}/churn-v2`);
      expect(pattern.test(addressOf(kind, 'churn-v2'))).toBe(true);
    }
  });

  it('has one shorthand per kind that agrees with addressOf', () => {
    expect(trainingRunAddress('mpg')).toBe('TrainingRun/mpg');
    expect(registeredModelAddress('mpg')).toBe('RegisteredModel/mpg');
    expect(deployedEndpointAddress('mpg')).toBe('DeployedEndpoint/mpg');
    expect(scheduleAddress('mpg')).toBe('Schedule/mpg');
  });

  it('names one run name#number, and addresses it under its TrainingRun', () => {
    const run = { name: 'mpg-mlp', number: 12, state: 'running' };
    expect(runRef(run)).toBe('mpg-mlp#12');
    expect(runAddress(run)).toBe('TrainingRun/mpg-mlp#12');
  });
});

describe('errorMessage', () => {
  it("is an Error's message, subclasses included, even when empty", () => {
    expect(errorMessage(new Error('disk full'))).toBe('disk full');
    expect(errorMessage(new TypeError('not a function'))).toBe('not a function');
    expect(errorMessage(new Error(''))).toBe('');
  });

  it('is the value as text for anything else thrown', () => {
    expect(errorMessage('rejected with a string')).toBe('rejected with a string');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(undefined)).toBe('undefined');
    expect(errorMessage(null)).toBe('null');
    // Looks like an Error but is not one: its message is not trusted to be text.
    expect(errorMessage({ message: 'forged' })).toBe('[object Object]');
  });
});
