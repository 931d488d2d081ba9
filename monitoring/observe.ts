/**
 * Observation of one monitored endpoint, shared by the providers: which window summaries to read
 * (the last two complete windows: the newest may still be being flushed when observed just after
 * it closed), reading them back bounded and schema-checked, and scoring them against each served
 * version's statistics.json. The provider supplies the reads (state directory, bucket).
 */
import { Value } from '@sinclair/typebox/value';
import type { EndpointMonitoring } from '../resources/monitoring.js';
import { errorMessage } from '../resources/error-message.js';
import { scoreEndpoint, windowMs, type VersionReference } from './drift.js';
import { windowKey, windowStart } from './layout.js';
import type { StatisticsRead } from './statistics-file.js';
import type { MonitoringStatus } from './status.js';
import { WindowSummarySchema, type WindowSummary } from './window-summary.js';

/** Complete windows read per observation, newest first. */
export const WINDOWS_READ = 2;
/** A summary file larger than this is refused: 10,000 features of 100 bins fit well below it. */
export const MAX_SUMMARY_BYTES = 16 * 2 ** 20;
/** Summaries read per window at most (versions x instances); more are left out and said so. */
export const MAX_SUMMARIES_PER_WINDOW = 1000;
/** A window summary's file name: `v<version>-<instance>.json` (monitoring/layout.ts). */
export const SUMMARY_FILE = /^v([1-9][0-9]{0,8})-[A-Za-z0-9._-]{1,128}\.json$/;

/** Folder names of the windows to read, newest first: the last `WINDOWS_READ` complete ones. */
export function windowKeysToRead(settings: Pick<EndpointMonitoring, 'window'>, now: Date): string[] {
  const length = windowMs(settings);
  const current = windowStart(now.getTime(), length);
  return Array.from({ length: WINDOWS_READ }, (_, i) => windowKey(current - (i + 1) * length));
}

/** The version a summary file name is for, or undefined when the name is not one the server writes. */
export function summaryVersion(fileName: string): number | undefined {
  const m = SUMMARY_FILE.exec(fileName);
  return m ? Number(m[1]) : undefined;
}

/** A summary's bytes: the summary, or why it is ignored. */
export function parseWindowSummary(bytes: Buffer, name: string): WindowSummary | string {
  if (bytes.length > MAX_SUMMARY_BYTES) return `${name} is larger than ${MAX_SUMMARY_BYTES} bytes`;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return `${name} is not JSON`;
  }
  if (!Value.Check(WindowSummarySchema, value)) {
    const first = Value.Errors(WindowSummarySchema, value).First();
    return `${name} does not match the window summary schema${first ? ` at ${first.path || '/'}: ${first.message}` : ''}`;
  }
  return value;
}

export interface MonitoringReads {
  /** Summary files of one window folder: names (no folder) with a reader each. */
  listWindow(key: string): Promise<{ name: string; read: () => Promise<Buffer> }[]>;
  /** statistics.json of a served version's artifact. */
  readStatistics(version: number): Promise<StatisticsRead>;
}

/**
 * The endpoint's MonitoringStatus from the summaries of the windows `windowKeysToRead` names and
 * the statistics of the versions it serves. Unreadable summaries are left out and named in
 * `detail`; nothing here throws for bad data.
 */
export async function observeMonitoring(
  settings: EndpointMonitoring,
  versions: readonly number[],
  reads: MonitoringReads,
  now: Date,
): Promise<MonitoringStatus> {
  try {
    return await readAndScore(settings, versions, reads, now);
  } catch (e) {
    // A storage error leaves drift unknown for this observation; it never fails the whole list.
    return {
      count: 0,
      drift: 'unknown',
      features: [],
      detail: `monitoring data could not be read: ${errorMessage(e)}`,
    };
  }
}

async function readAndScore(
  settings: EndpointMonitoring,
  versions: readonly number[],
  reads: MonitoringReads,
  now: Date,
): Promise<MonitoringStatus> {
  const problems: string[] = [];
  const served = new Set(versions);
  const summaries: WindowSummary[] = [];
  for (const key of windowKeysToRead(settings, now)) {
    const files = (await reads.listWindow(key)).filter((f) => {
      const version = summaryVersion(f.name);
      return version !== undefined && served.has(version);
    });
    if (files.length > MAX_SUMMARIES_PER_WINDOW)
      problems.push(
        `window ${key} has ${files.length} summaries; the first ${MAX_SUMMARIES_PER_WINDOW} were read`,
      );
    for (const file of files.slice(0, MAX_SUMMARIES_PER_WINDOW)) {
      let bytes: Buffer;
      try {
        bytes = await file.read();
      } catch (e) {
        problems.push(`${key}/${file.name}: ${errorMessage(e)}`);
        continue;
      }
      const parsed = parseWindowSummary(bytes, `${key}/${file.name}`);
      if (typeof parsed === 'string') problems.push(parsed);
      else summaries.push(parsed);
    }
  }
  const references: VersionReference[] = [];
  for (const version of served) {
    const read = await reads.readStatistics(version);
    references.push(read.ok ? { version, statistics: read.statistics } : { version, detail: read.detail });
  }
  const status = scoreEndpoint(references, summaries, settings, now);
  if (problems.length === 0) return status;
  const detail = [status.detail, `ignored: ${problems.join('; ')}`].filter(Boolean).join('; ');
  return { ...status, detail };
}
