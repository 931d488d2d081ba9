import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeContainerRun, FakeGcp } from '../fakes/gcp/index.js';
import { PARENT, closeAll, start, waitFor, type Clients } from './helpers.js';

/** A "container" in a child process: writes `${AIP_MODEL_DIR}model.json` through @google-cloud/storage. */
const CHILD = `
import { Storage } from '@google-cloud/storage';
const dir = process.env.AIP_MODEL_DIR;
const m = /^gs:\\/\\/([^/]+)\\/(.*)$/.exec(dir);
const storage = new Storage({ projectId: 'p' });
await storage.bucket(m[1]).file(m[2] + 'model.json').save(JSON.stringify({ job: process.env.CLOUD_ML_JOB_ID, args: process.argv.slice(1).filter((a) => a !== '--') }), { resumable: false });
if (process.argv.includes('--fail')) { console.error('bad data'); process.exit(3); }
`;

function spawnContainer(
  run: FakeContainerRun,
  signal: AbortSignal,
): Promise<{ exitCode: number; message?: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', CHILD, '--', ...run.containerSpec.args],
      {
        env: { ...process.env, ...run.env },
        cwd: process.cwd(),
        signal,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', () => resolve({ exitCode: 137, message: 'killed' }));
    child.on('exit', (code) => resolve({ exitCode: code ?? 137, message: stderr.trim().split('\n').pop() }));
  });
}

describe('runContainer with a child process', () => {
  let fake: FakeGcp | undefined;
  let c: Clients | undefined;
  afterEach(async () => {
    if (fake && c) await closeAll(fake, c);
  });

  it('lets a child process write the model dir into the fake GCS via STORAGE_EMULATOR_HOST', async () => {
    ({ fake, c } = await start({ jobTiming: { queuedMs: 1, pendingMs: 1 }, runContainer: spawnContainer }));
    const body = (args: string[]) => ({
      displayName: 'child',
      jobSpec: {
        workerPoolSpecs: [
          {
            machineSpec: { machineType: 'n1-standard-4' },
            replicaCount: 1,
            containerSpec: { imageUri: 'trainer', args },
          },
        ],
        baseOutputDirectory: { outputUriPrefix: 'gs://art/runs/r1' },
      },
    });
    const [ok] = await c.jobs.createCustomJob({ parent: PARENT, customJob: body(['--epochs', '1']) });
    const jobs = c.jobs;
    const final = await waitFor(async () => {
      const [j] = await jobs.getCustomJob({ name: ok.name });
      return ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED'].includes(String(j.state)) ? j : undefined;
    }, 30_000);
    expect(final.error?.message ?? '').toBe('');
    expect(final.state).toBe('JOB_STATE_SUCCEEDED');
    const [data] = await c.storage.bucket('art').file('runs/r1/model/model.json').download();
    expect(JSON.parse(data.toString())).toEqual({
      job: String(ok.name).split('/').pop(),
      args: ['--epochs', '1'],
    });

    const [bad] = await c.jobs.createCustomJob({ parent: PARENT, customJob: body(['--fail']) });
    const failed = await waitFor(async () => {
      const [j] = await jobs.getCustomJob({ name: bad.name });
      return ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED'].includes(String(j.state)) ? j : undefined;
    }, 30_000);
    expect(failed.state).toBe('JOB_STATE_FAILED');
    expect(failed.error?.message).toContain('non-zero status of 3');
    expect(failed.error?.message).toContain('bad data');
  });
});
