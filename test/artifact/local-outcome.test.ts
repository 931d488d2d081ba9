/**
 * The local provider reads a finished run's metrics.json with the contract's schema
 * (ContractMetricsSchema) and run.json without `data` (your own trainer's): the run is succeeded
 * with its metrics and no data hash; a metrics.json that breaks the contract is a diagnostic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ownershipLabels } from '../../providers/provider.js';
import { irisSpec, tempProject, type Project } from '../providers/local/helpers.js';

let project: Project;
beforeAll(async () => {
  project = await tempProject();
});
afterAll(() => project.cleanup());

/** A run record whose process is gone, and the artifact it left. */
async function finishedRun(name: string, artifact: Record<string, unknown>): Promise<void> {
  const dir = join(project.stateDir, 'runs', name, '1');
  const deadPid = Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
  );
  await mkdir(join(dir, 'artifact'), { recursive: true });
  await writeFile(
    join(dir, 'run.json'),
    JSON.stringify({
      formatVersion: 1,
      name,
      number: 1,
      specHash: 'h'.repeat(64),
      labels: ownershipLabels('test', 'TrainingRun', name, 'h'.repeat(64)),
      annotations: {},
      attempt: 1,
      createdAt: new Date().toISOString(),
      manifestPath: '/nowhere/run.yaml',
      spec: irisSpec(1),
      marker: join(dir, 'artifact'),
      pid: deadPid,
    }),
  );
  for (const [file, value] of Object.entries(artifact)) {
    await writeFile(join(dir, 'artifact', file), JSON.stringify(value));
  }
}

describe('local runs read metrics.json with the contract', () => {
  it('run.json without data (your own trainer) and contract metrics: succeeded, no data hash', async () => {
    await finishedRun('own', {
      'run.json': { specHash: 'h'.repeat(64), finishedAt: '2026-12-05T01:00:00.000Z' },
      'metrics.json': {
        formatVersion: 1,
        metrics: { val_mae: 2.1, val_r2: null },
        baseline: { val_mae: 6.4 },
      },
    });
    const listed = await project.provider.trainingRuns.list(project.ctx);
    const run = listed.items.find((r) => r.name === 'own');
    expect(run).toMatchObject({
      state: 'succeeded',
      finishedAt: '2026-12-05T01:00:00.000Z',
      metrics: { val_mae: 2.1 },
      baseline: { val_mae: 6.4 },
    });
    expect(run?.dataSha256).toBeUndefined();
  });

  it('a metrics.json without formatVersion breaks the contract: a diagnostic, not a run with metrics', async () => {
    await finishedRun('bad', {
      'run.json': { specHash: 'h'.repeat(64), finishedAt: '2026-12-05T01:00:00.000Z' },
      'metrics.json': { metrics: { val_mae: 2.1 }, baseline: {} },
    });
    const listed = await project.provider.trainingRuns.list(project.ctx);
    expect(listed.items.find((r) => r.name === 'bad')?.metrics).toBeUndefined();
    expect(listed.diagnostics).toEqual([
      expect.objectContaining({
        address: 'TrainingRun/bad',
        file: expect.stringContaining('metrics.json') as unknown,
      }),
    ]);
  });
});
