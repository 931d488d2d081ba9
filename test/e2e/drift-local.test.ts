/**
 * Drift through the CLI on the local provider: apply the quickstart with `monitoring` on the
 * endpoint, the trainer's statistics.json in the served artifact, window summaries in the state
 * directory (as the model server writes them: the contract schema), then `get`, `describe` and
 * `get -o json` show the endpoint Degraded with the features that moved, and only those.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyQuickstart, runCli } from './cli.js';
import { killProcessesUnder } from '../providers/local/helpers.js';
import { windowKey, windowStart } from '../../monitoring/layout.js';
import { parseStatistics } from '../../monitoring/statistics-file.js';
import type { FeatureStatistics, ReferenceStatistics } from '../../monitoring/statistics.js';
import type { FeatureCounts } from '../../monitoring/window-summary.js';
import { HOUR, windowSummary } from '../monitoring/fixtures.js';

let root: string;
let project: string;

beforeAll(async () => {
  ({ root, project } = await copyQuickstart('mlform-drift-', /schedule\.yaml$/));
  execFileSync('git', ['init', '-q', root]);
  const training = join(project, 'training.yaml');
  await writeFile(
    training,
    (await readFile(training, 'utf8'))
      .replace('epochs: 150', 'epochs: 3')
      .replace(/ *earlyStopping:.*\n/, ''),
  );
  // No gate: three epochs are enough for a version to serve, not for the quickstart's gate.
  const model = join(project, 'model.yaml');
  await writeFile(model, (await readFile(model, 'utf8')).replace(/ {2}gate:\n(?: {4}.*\n)+/, ''));
  const endpoint = join(project, 'endpoint.yaml');
  await writeFile(
    endpoint,
    `${await readFile(endpoint, 'utf8')}  monitoring:\n    window: 1h\n    minSamples: 50\n    drift: {threshold: 0.2, features: {Origin: 0.5}}\n    quality: {metric: mae, max: 4}\n`,
  );
});

afterAll(async () => {
  if (project) runCli(['destroy', '-y', project]);
  if (root) {
    await killProcessesUnder(root);
    await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
});

/** The statistics.json of the trained run (the served version's artifact is a copy or the same). */
async function servedStatistics(): Promise<ReferenceStatistics> {
  const runs = join(project, '.mlform', 'runs', 'mpg-mlp');
  for (const number of await readdir(runs)) {
    for (const dir of [join(runs, number, 'artifact'), join(runs, number)]) {
      const bytes = await readFile(join(dir, 'statistics.json')).catch(() => undefined);
      if (!bytes) continue;
      const read = parseStatistics(bytes);
      if (read.ok) return read.statistics;
    }
  }
  throw new Error('no statistics.json in the run artifact');
}

/** Counts like the reference's, scaled to `n` requests; `shift` moves everything into the last bins. */
function countsLike(ref: FeatureStatistics, n: number, shift: boolean): FeatureCounts {
  const total = ref.count + ref.missing;
  const scale = (c: number) => Math.round((c / total) * n);
  if (ref.type === 'numeric') {
    const counts = ref.counts.map(scale);
    if (shift) {
      counts.fill(0);
      counts[counts.length - 1] = Math.round(n / 2);
      counts[counts.length - 2] = n - Math.round(n / 2);
    }
    return { type: 'numeric', counts, missing: shift ? 0 : scale(ref.missing) };
  }
  return {
    type: 'categorical',
    categories: Object.fromEntries(Object.entries(ref.categories).map(([k, c]) => [k, scale(c)])),
    other: scale(ref.other),
    missing: scale(ref.missing),
  };
}

describe('drift on the local provider, through the CLI', () => {
  it('apply serves a monitored endpoint whose version carries statistics.json; drift unknown without windows', () => {
    const applied = runCli(['apply', '-y', project]);
    expect(applied.out).toContain('Apply complete');
    expect(applied.code).toBe(0);
    const get = runCli(['get', 'deployedendpoint/mpg-api', '-f', project]);
    expect(get.out).toContain('Healthy');
    expect(get.out).toContain('drift unknown (no complete window yet)');
  }, 180_000);

  it('a window whose Horsepower and Weight moved makes the endpoint Degraded, naming those features only', async () => {
    const reference = await servedStatistics();
    const start = windowStart(Date.now(), HOUR) - HOUR;
    const n = 400;
    const summary = windowSummary(start, {
      instance: 'e2e',
      count: n,
      features: Object.fromEntries(
        Object.entries(reference.features).map(([name, ref]) => [
          name,
          countsLike(ref, n, name === 'Horsepower' || name === 'Weight_in_lbs'),
        ]),
      ),
      ...(reference.prediction && { prediction: countsLike(reference.prediction, n, false) }),
      quality: { count: 20, sumAbsError: 100, sumSquaredError: 600, correct: 0, unmatched: 0 },
    });
    const folder = join(project, '.mlform', 'monitoring', 'mpg-api', 'windows', windowKey(start));
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'v1-e2e.json'), JSON.stringify(summary));

    const get = runCli(['get', 'deployedendpoint/mpg-api', '-f', project]);
    expect(get.out).toContain('Degraded');
    expect(get.out).toMatch(
      /drift: (Horsepower|Weight_in_lbs) psi [\d.]+ > 0\.2, (Weight_in_lbs|Horsepower) psi/,
    );
    expect(get.out).toContain('quality degraded: live mae 5 ');

    const described = runCli(['describe', 'deployedendpoint/mpg-api', '-f', project]);
    expect(described.code).toBe(0);
    const block = described.out.slice(described.out.indexOf('Monitoring:'));
    expect(block).toContain(`${n} requests, v1`);
    expect(block).toMatch(/Drift: +drifted/);
    expect(block).toMatch(/Horsepower +psi +[\d.]+ +0\.2 +[\d.]+ +yes/);
    expect(block).toMatch(/Origin +psi +[\d.]+ +0\.5 +- +no/);

    const json = JSON.parse(
      runCli(['get', 'deployedendpoint/mpg-api', '-o', 'json', '-f', project]).stdout,
    ) as {
      resources: {
        health: string;
        monitoring?: { drift: string; features: { name: string; drifted: boolean; score: number }[] };
      }[];
    };
    const [resource] = json.resources;
    expect(resource.health).toBe('Degraded');
    expect(resource.monitoring?.drift).toBe('drifted');
    const movedNames = resource
      .monitoring!.features.filter((f) => f.drifted)
      .map((f) => f.name)
      .sort();
    expect(movedNames).toEqual(['Horsepower', 'Weight_in_lbs']);
    for (const f of resource.monitoring!.features.filter((f) => !f.drifted))
      expect(f.score).toBeLessThan(0.2);

    // Drift is observed state: it plans nothing by itself.
    const plan = runCli(['plan', '--detailed-exitcode', project]);
    expect(plan.out).toContain('No changes');
  }, 120_000);
});
