/**
 * A local directory as the source (a laptop's working copy): chokidar watches it, bursts of
 * events (an editor's save, a `git pull`) are debounced into one change. Dot folders (`.git`, the
 * `.mlform` state directory, whose writes would otherwise retrigger every sync) are not watched.
 */
import { watch, type FSWatcher } from 'chokidar';
import { stat } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { error } from '../../resources/diagnostic.js';
import type { ManifestSource, SourceUpdate } from './source.js';

export interface DirectorySourceOptions {
  dir: string;
  debounceMs?: number;
}

export function createDirectorySource(options: DirectorySourceOptions): ManifestSource {
  const dir = resolve(options.dir);
  const debounceMs = options.debounceMs ?? 300;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  /** Bumped on every (debounced) change: the directory's "commit" in status and metrics. */
  let generation = 0;
  let seen = -1;

  const ignored = (path: string): boolean => {
    const rel = relative(dir, path);
    if (!rel || rel.startsWith('..')) return false;
    return rel.split(sep).some((segment) => segment.startsWith('.') || segment === 'node_modules');
  };

  return {
    kind: 'dir',
    description: `dir ${dir}`,
    manifestsPath: dir,
    treeRoot: dir,
    async update(): Promise<SourceUpdate> {
      const revision = `dir@${generation}`;
      const exists = await stat(dir).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!exists) {
        return {
          revision: seen < 0 ? undefined : revision,
          changed: false,
          diagnostics: [error('dir-source', `${dir} is not a directory`)],
        };
      }
      const changed = seen !== generation;
      seen = generation;
      return { revision, changed, diagnostics: [] };
    },
    watch(onChange) {
      watcher = watch(dir, { ignoreInitial: true, ignored, persistent: true });
      watcher.on('all', () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          generation++;
          onChange();
        }, debounceMs);
      });
    },
    async close() {
      clearTimeout(timer);
      await watcher?.close();
    },
  };
}
