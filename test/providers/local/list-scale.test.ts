/**
 * Refresh on a budget (docs/architecture.md "Principles" 4): listing a state directory with 1,000 runs and
 * hundreds of models, versions, endpoints and schedules stays well under a second, because a
 * finished run is one small read and nothing is read twice.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipLabels } from '../../../providers/provider.js';
import { irisSpec, tempProject, type Project } from './helpers.js';

let project: Project;
const RUNS = 1_000;
const MODELS = 250;
const VERSIONS = 4;
const ENDPOINTS = 250;
const SCHEDULES = 250;

const labels = (kind: string, name: string) => ownershipLabels('test', kind, name, 'h'.repeat(64));

beforeAll(async () => {
  project = await tempProject();
  const root = project.stateDir;
  const deadPid = Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
  );
  const now = new Date().toISOString();
  const files: [string, unknown][] = [];
  for (let i = 0; i < RUNS; i++) {
    const name = `run-${i % 250}`;
    const number = Math.floor(i / 250) + 1;
    const dir = join(root, 'runs', name, String(number));
    files.push([
      join(dir, 'run.json'),
      {
        formatVersion: 1,
        name,
        number,
        specHash: 'h'.repeat(64),
        labels: labels('TrainingRun', name),
        annotations: {},
        attempt: 1,
        createdAt: now,
        manifestPath: '/nowhere/run.yaml',
        spec: irisSpec(10),
        marker: join(dir, 'artifact'),
        pid: deadPid,
        outcome: {
          state: 'succeeded',
          finishedAt: now,
          metrics: { val_loss: 0.1 },
          baseline: { val_loss: 1 },
        },
      },
    ]);
  }
  for (let m = 0; m < MODELS; m++) {
    const name = `model-${m}`;
    files.push([
      join(root, 'registry', name, 'model.json'),
      {
        formatVersion: 1,
        name,
        specHash: 'h'.repeat(64),
        labels: labels('RegisteredModel', name),
        annotations: {},
        spec: { aliases: {}, retention: { keepVersions: 20 } },
        createdAt: now,
        updatedAt: now,
      },
    ]);
    files.push([
      join(root, 'registry', name, 'aliases.json'),
      { formatVersion: 1, aliases: { champion: 1 } },
    ]);
    for (let v = 1; v <= VERSIONS; v++) {
      files.push([
        join(root, 'registry', name, 'versions', String(v), 'version.json'),
        {
          formatVersion: 1,
          model: name,
          version: v,
          run: { name: 'run-0', number: v },
          specHash: 'h'.repeat(64),
          labels: labels('RegisteredModel', name),
          metrics: { val_loss: 0.1 },
          baseline: {},
          createdAt: now,
        },
      ]);
    }
  }
  for (let e = 0; e < ENDPOINTS; e++) {
    const name = `endpoint-${e}`;
    const dir = join(root, 'endpoints', name);
    const batching = { enabled: true, maxBatchSize: 64, batchTimeoutMicros: 0 };
    files.push([
      join(dir, 'endpoint.json'),
      {
        formatVersion: 1,
        name,
        specHash: 'h'.repeat(64),
        labels: labels('DeployedEndpoint', name),
        annotations: {},
        spec: {
          model: 'model-0',
          traffic: [{ version: 1, percent: 100 }],
          preset: 'development',
          batching,
          timeoutSeconds: 300,
        },
        port: 20_000 + e,
        url: `http://127.0.0.1:${20_000 + e}`,
        pid: deadPid,
        configSha256: 'x',
        createdAt: now,
        updatedAt: now,
      },
    ]);
    files.push([
      join(dir, 'config.json'),
      {
        name: 'model-0',
        versions: [{ version: 1, uri: '/nowhere', percent: 100 }],
        batching,
        limits: { requestTimeoutSeconds: 300 },
      },
    ]);
  }
  for (let s = 0; s < SCHEDULES; s++) {
    const name = `schedule-${s}`;
    files.push([
      join(root, 'schedules', name, 'schedule.json'),
      {
        formatVersion: 1,
        name,
        specHash: 'h'.repeat(64),
        labels: labels('Schedule', name),
        annotations: {},
        spec: {
          trainingRun: 'run-0',
          cron: '0 3 * * *',
          timeZone: 'UTC',
          suspend: false,
          concurrencyPolicy: 'Forbid',
          startingDeadlineSeconds: 3600,
          history: { successful: 5, failed: 3 },
        },
        template: {
          name: 'run-0',
          spec: irisSpec(10),
          specHash: 'h'.repeat(64),
          manifestPath: '/nowhere/run.yaml',
        },
        createdAt: now,
        updatedAt: now,
      },
    ]);
  }
  const limit = pLimit(64);
  await Promise.all(
    files.map(([path, value]) =>
      limit(async () => {
        await mkdir(join(path, '..'), { recursive: true });
        await writeFile(path, JSON.stringify(value));
      }),
    ),
  );
}, 60_000);

afterAll(async () => {
  await project?.cleanup();
});

describe('listing at scale', () => {
  it('lists every kind of a large state directory well under a second', async () => {
    const { provider, ctx } = project;
    // The first listing also compiles the record schemas (~100-200 ms, once per process).
    const cold = performance.now();
    await Promise.all([
      provider.trainingRuns.list(ctx),
      provider.registeredModels.list(ctx),
      provider.deployedEndpoints.list(ctx),
      provider.schedules.list(ctx),
    ]);
    const coldMs = performance.now() - cold;

    const started = performance.now();
    const [runs, models, endpoints, schedules] = await Promise.all([
      provider.trainingRuns.list(ctx),
      provider.registeredModels.list(ctx),
      provider.deployedEndpoints.list(ctx),
      provider.schedules.list(ctx),
    ]);
    const ms = performance.now() - started;

    expect(runs.items).toHaveLength(RUNS);
    expect(models.items).toHaveLength(MODELS);
    expect(models.items.every((m) => m.versions.length === VERSIONS)).toBe(true);
    expect(endpoints.items).toHaveLength(ENDPOINTS);
    expect(endpoints.items.every((e) => !e.healthy && e.healthDetail?.endsWith('not running'))).toBe(true);
    expect(schedules.items).toHaveLength(SCHEDULES);
    expect([runs, models, endpoints, schedules].flatMap((r) => r.diagnostics)).toEqual([]);
    console.log(
      `listed ${RUNS} runs, ${MODELS} models x ${VERSIONS} versions, ${ENDPOINTS} endpoints, ${SCHEDULES} schedules in ${ms.toFixed(0)} ms (first listing, with schema compilation: ${coldMs.toFixed(0)} ms)`,
    );
    // Typically ~150-300 ms; the bound leaves room for a busy shared machine.
    expect(ms).toBeLessThan(2_000);
  });
});
