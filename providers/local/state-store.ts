/**
 * `Provider.stateStore` for the local provider: one file per key under `statePaths(root).store`,
 * written like every record of the state directory (temp file, fsync, rename; 0600 in 0700
 * folders), so a reader sees the old value or the new one. Keys are built by mlform and checked
 * against `STATE_KEY` again here: a key can never leave the store folder.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { STATE_KEY, type ProviderContext, type StackStateStore } from '../provider.js';
import { statePaths, writeTextAtomic } from './state-dir.js';

function checkedKey(key: string): string {
  if (!STATE_KEY.test(key) || key.endsWith('/'))
    throw new Error(`state store key ${JSON.stringify(key)} is not a key`);
  return key;
}

/** Every file under `dir`, as `/`-separated paths relative to `base`; temp files (dot names) skipped. */
async function filesUnder(base: string, dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return [];
    throw e;
  });
  const out: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(base, path)));
    else if (entry.isFile()) out.push(relative(base, path).split(sep).join('/'));
  }
  return out;
}

export function localStateStore(rootOf: (ctx: ProviderContext) => string): StackStateStore {
  const storeDir = (ctx: ProviderContext) => statePaths(rootOf(ctx)).store;
  return {
    async list(ctx, prefix) {
      if (prefix !== '' && !STATE_KEY.test(prefix))
        throw new Error(`state store prefix ${JSON.stringify(prefix)} is not a key`);
      const base = storeDir(ctx);
      // The folder the prefix names (or the one its last segment is in), then a prefix filter.
      const folder =
        prefix.endsWith('/') || prefix === '' ? prefix : prefix.slice(0, prefix.lastIndexOf('/') + 1);
      const keys = await filesUnder(base, join(base, ...folder.split('/').filter(Boolean)));
      return keys.filter((k) => k.startsWith(prefix)).sort();
    },
    async read(ctx, key) {
      return readFile(join(storeDir(ctx), ...checkedKey(key).split('/'))).catch(
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return undefined;
          throw e;
        },
      );
    },
    async write(ctx, key, data) {
      await writeTextAtomic(join(storeDir(ctx), ...checkedKey(key).split('/')), data);
    },
    async remove(ctx, key) {
      await rm(join(storeDir(ctx), ...checkedKey(key).split('/')), { force: true });
    },
  };
}
