/**
 * `Provider.stateStore` on gcp: one object per key under `gcsLayout(...).store` in the stack's
 * bucket prefix. A listing is one paged `objects.list`; a write is one `objects.insert` (GCS
 * replaces an object atomically); reads are bounded, since other writers (a training container
 * with the bucket's service account) could put anything there.
 */
import { parseGcsUri } from '../../artifact/storage.js';
import { STATE_KEY, type StackStateStore } from '../provider.js';
import type { Gcp } from './context.js';

/** Outbox items and the notified snapshot are small; anything larger is not ours. */
export const MAX_STATE_OBJECT_BYTES = 4 * 1024 * 1024;

function checkedKey(key: string): string {
  if (!STATE_KEY.test(key) || key.endsWith('/'))
    throw new Error(`state store key ${JSON.stringify(key)} is not a key`);
  return key;
}

export function gcpStateStore(gcp: Pick<Gcp, 'gcs' | 'layout'>): StackStateStore {
  return {
    async list(ctx, prefix) {
      if (prefix !== '' && !STATE_KEY.test(prefix))
        throw new Error(`state store prefix ${JSON.stringify(prefix)} is not a key`);
      const store = gcp.layout(ctx.stack).store;
      const objects = await gcp.gcs.list(`${store}${prefix}`);
      // Object names are bucket-relative: the key is what follows the store's own prefix.
      const base = parseGcsUri(store).name;
      return objects
        .map((o) => o.name.slice(base.length))
        .filter((k) => k.startsWith(prefix) && STATE_KEY.test(k))
        .sort();
    },
    async read(ctx, key) {
      const found = await gcp.gcs.readIfExists(`${gcp.layout(ctx.stack).store}${checkedKey(key)}`, {
        maxBytes: MAX_STATE_OBJECT_BYTES,
      });
      return found?.data;
    },
    async write(ctx, key, data) {
      await gcp.gcs.write(`${gcp.layout(ctx.stack).store}${checkedKey(key)}`, data);
    },
    async remove(ctx, key) {
      await gcp.gcs.remove(`${gcp.layout(ctx.stack).store}${checkedKey(key)}`);
    },
  };
}
