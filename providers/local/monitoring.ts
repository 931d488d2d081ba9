/**
 * Drift and live quality of a local endpoint (issue 15): the window summaries the model server
 * wrote under `<state>/monitoring/<endpoint>/windows/` and the served versions' statistics.json,
 * scored by monitoring/observe.ts. Only folders named by mlform are read (layout.ts); every file is
 * read bounded and schema-checked.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readBounded } from '../../artifact/storage.js';
import { windowsPrefix } from '../../monitoring/layout.js';
import { MAX_SUMMARY_BYTES, observeMonitoring } from '../../monitoring/observe.js';
import { readStatisticsFile } from '../../monitoring/statistics-file.js';
import type { MonitoringStatus } from '../../monitoring/status.js';
import type { EndpointMonitoring } from '../../resources/monitoring.js';

export async function observeLocalMonitoring(
  monitoringRoot: string,
  settings: EndpointMonitoring,
  versions: readonly { version: number; uri: string }[],
  now: Date,
): Promise<MonitoringStatus> {
  const windows = windowsPrefix(monitoringRoot);
  return observeMonitoring(
    settings,
    versions.map((v) => v.version),
    {
      async listWindow(key) {
        const folder = join(windows, key);
        let names: string[];
        try {
          names = (await readdir(folder, { withFileTypes: true }))
            .filter((e) => e.isFile())
            .map((e) => e.name);
        } catch (e) {
          if ((e as { code?: unknown }).code === 'ENOENT') return [];
          throw e;
        }
        return names.sort().map((name) => ({
          name,
          read: () => readBounded(join(folder, name), MAX_SUMMARY_BYTES, `${key}/${name}`),
        }));
      },
      readStatistics: (version) => readStatisticsFile(versions.find((v) => v.version === version)!.uri),
    },
    now,
  );
}
