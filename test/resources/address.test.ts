import { describe, expect, it } from 'vitest';
import * as address from '../../resources/address.js';
import { errorMessage } from '../../resources/error-message.js';
import { KINDS, type Kind } from '../../resources/kinds.js';
import { ResourceAddressPattern } from '../../resources/metadata.js';

describe('resource addresses', () => {
  it('spells Kind/name, the form dependsOn accepts, for every kind', () => {
    const pattern = new RegExp(ResourceAddressPattern);
    for (const kind of KINDS) {
      expect(address.addressOf(kind, 'churn-v2')).toBe(`${kind}/churn-v2`);
      expect(pattern.test(address.addressOf(kind, 'churn-v2'))).toBe(true);
    }
  });

  it('has one shorthand per kind that agrees with addressOf', () => {
    const shorthands: Record<Kind, (name: string) => string> = {
      TrainingRun: address.trainingRunAddress,
      RegisteredModel: address.registeredModelAddress,
      DeployedEndpoint: address.deployedEndpointAddress,
      Schedule: address.scheduleAddress,
    };
    for (const kind of KINDS) expect(shorthands[kind]('mpg')).toBe(`${kind}/mpg`);
  });

  it('names one run name#number, and addresses it under its TrainingRun', () => {
    const run = { name: 'mpg-mlp', number: 12, state: 'running' };
    expect(address.runRef(run)).toBe('mpg-mlp#12');
    expect(address.runAddress(run)).toBe('TrainingRun/mpg-mlp#12');
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
