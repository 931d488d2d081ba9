/**
 * Results the builder keeps between documents, for what cannot change: the files of a finished
 * run's artifact, the sample request of a registered version (versions are copied once, never
 * rewritten). A live page rebuilds its document on every snapshot; these reads need not repeat.
 * Per provider (tests and servers may use several), least recently used first out. `compute`
 * must not reject: a failed read is a value (undefined), not an error kept forever.
 */
import type { Provider } from '../../../providers/provider.js';

export class Memo<T> {
  private readonly byProvider = new WeakMap<Provider, Map<string, Promise<T>>>();

  constructor(private readonly capacity: number) {}

  get(provider: Provider, key: string, compute: () => Promise<T>): Promise<T> {
    let entries = this.byProvider.get(provider);
    if (!entries) {
      entries = new Map();
      this.byProvider.set(provider, entries);
    }
    let value = entries.get(key);
    if (value) entries.delete(key); // re-inserted below: the map's order is the recency order
    value ??= compute();
    entries.set(key, value);
    while (entries.size > this.capacity) entries.delete(entries.keys().next().value as string);
    return value;
  }
}
