/**
 * The quickstart on `provider: gcp` while the fake answers a share of requests with 429 rate
 * limits and 503s, some of them after the request took effect (the response is lost): apply must
 * converge with exactly one CustomJob, one model version, one service and one scheduler job, and
 * a second apply must find nothing to do. The trainer is synthetic (it writes metrics.json and
 * run.json) to keep this fast; test/e2e/gcp-quickstart.test.ts runs the real one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, execFileSync } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';
import { syntheticTrainer } from '../providers/gcp/helpers.js';

const REPO = resolve('.');
let root: string;
let project: string;
let fake: FakeGcp;

function mlform(...args: string[]) {
  return new Promise<{ code: number | null; out: string }>((done) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/mlform.js'), ...args], {
      cwd: REPO,
      env: {
        ...process.env,
        NO_COLOR: '1',
        FORCE_COLOR: undefined,
        CI: 'true',
        MLFORM_GCP_API_ENDPOINT: fake.url,
        MLFORM_GCP_RETRY_BASE_MS: '10',
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => done({ code, out }));
  });
}

async function setUp(): Promise<void> {
  fake = await startFakeGcp({ runContainer: syntheticTrainer({ val_mae: 2.1, val_loss: 0.05 }) });
  root = await mkdtemp(join(tmpdir(), 'mlform-gcp-faults-'));
  project = join(root, 'quickstart');
  await cp('examples/quickstart', project, {
    recursive: true,
    filter: (src) => !src.includes('.mlform'),
  });
  await cp('examples/data/cars.json', join(root, 'data', 'cars.json'));
  // A clone, as in the README: the quickstart's ../data is inside the repository (its tree root).
  execFileSync('git', ['init', '-q', root]);
  await writeFile(
    join(project, 'mlform.yaml'),
    `stack: quickstart
provider: gcp
gcp:
  project: demo-proj
  region: europe-west4
  bucket: gs://mlform-test/state
  trainerImage: europe-docker.pkg.dev/demo-proj/mlform/trainer:1
  servingImage: europe-docker.pkg.dev/demo-proj/mlform/serving:1
  serviceAccount: mlform-runner@demo-proj.iam.gserviceaccount.com
`,
  );
}

async function tearDown(): Promise<void> {
  await fake?.close();
  if (root) await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

afterEach(tearDown);

describe('gcp apply under injected faults', () => {
  // The seeded faults land on different requests from run to run (polls and parallel calls interleave
  // with timing), so they alone cannot promise that a create's response is lost. Each run therefore
  // also loses, once, the response of every create whose retry must look up instead of creating again
  // (the first object write, which is the apply's lease, a CustomJob, a model version, a Cloud Run
  // service, a scheduler job); the request log proves each loss happened.
  const LOST_CREATES = ['objects.insert', 'CreateCustomJob', 'UploadModel', 'CreateService', 'CreateJob'];
  it.each([3, 4, 7])(
    'converges without duplicates when 25%% of requests fail with 429/503, a third after the effect (seed %i)',
    async (seed) => {
      await setUp();
      fake.setFaults({ rate: 0.25, kinds: ['429', '503'], seed, afterEffect: 0.33 });
      for (const rpc of LOST_CREATES) fake.failNext({ kind: '503', rpc, afterEffect: true });
      const first = await mlform('apply', '-y', project);
      fake.setFaults(undefined);
      const faulted = fake.count({ faulted: true });
      const lost = fake.requests.filter((r) => r.faultedAfterEffect);
      const lostWrites = lost.filter((r) => r.method !== 'GET').map((r) => r.rpc);
      console.log(
        `seed ${seed}: faults injected: ${faulted} of ${fake.requests.length} requests; responses lost after the effect: ${lost.length}, of writes: ${lostWrites.join(', ')}`,
      );
      if (first.code !== 0) console.log(first.out);
      expect(faulted).toBeGreaterThan(5);
      expect(lost.every((r) => r.faulted)).toBe(true);
      expect(lostWrites).toEqual(expect.arrayContaining(LOST_CREATES));
      expect(first.out).toContain('Apply complete');
      expect(first.code).toBe(0);
      expect(fake.customJobs()).toHaveLength(1);
      expect(fake.models()).toHaveLength(1);
      expect(fake.services()).toHaveLength(1);
      expect(fake.schedulerJobs()).toHaveLength(1);
      const again = await mlform('plan', '--detailed-exitcode', project);
      expect(again.out).toContain('No changes');
      expect(again.code).toBe(0);
    },
    180_000,
  );
});
