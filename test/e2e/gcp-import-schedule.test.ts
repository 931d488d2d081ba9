/**
 * Importing Cloud Scheduler jobs through the built CLI against test/fakes/gcp (README.md
 * "Importing existing objects"): a job made by hand that POSTs a container CustomJob to Vertex AI
 * is listed, described by a generated Schedule and its TrainingRun template that validate, and
 * adopted; only its description changed, and the plan after adoption has no changes. A job that
 * publishes to Pub/Sub is listed with the reason and not written. After adoption, a changed
 * template is written into the adopted job (no second job).
 */
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { fakeClientOptions, startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';
import { gcpProjectFile } from '../providers/gcp/project-file.js';
import { mlformOn } from './gcp-cli.js';

const PARENT = 'projects/demo-proj/locations/europe-central2';
const JOB_ID = `${PARENT}/jobs/nightly-retrain`;
const PUBSUB_ID = `${PARENT}/jobs/export-metrics`;
const CUSTOM_JOBS =
  'https://us-central1-aiplatform.googleapis.com/v1/projects/demo-proj/locations/us-central1/customJobs';
const RUNNER = 'mlform-runner@demo-proj.iam.gserviceaccount.com';

let fake: FakeGcp;
let dir: string;
beforeEach(async () => {
  fake = await startFakeGcp();
  dir = await mkdtemp(join(tmpdir(), 'mlform-import-schedule-'));
  // Trainings in us-central1 (T4s offered there); the Scheduler jobs live in europe-central2.
  await writeFile(join(dir, 'mlform.yaml'), gcpProjectFile('us-central1'));
});
afterEach(async () => {
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

const customJob = {
  displayName: 'nightly-retrain',
  jobSpec: {
    workerPoolSpecs: [
      {
        replicaCount: 1,
        machineSpec: {
          machineType: 'n1-standard-8',
          acceleratorType: 'NVIDIA_TESLA_T4',
          acceleratorCount: 1,
        },
        containerSpec: {
          imageUri: 'us-docker.pkg.dev/acme/train:5',
          args: ['--epochs', '10'],
          env: [{ name: 'DATA', value: 'gs://acme/data/latest' }],
        },
      },
    ],
  },
};

/** A paused retraining job and a Pub/Sub job, made with gcloud before mlform. */
async function seedJobs(): Promise<void> {
  const scheduler = new CloudSchedulerClient(fakeClientOptions(fake));
  await scheduler.createJob({
    parent: PARENT,
    job: {
      name: JOB_ID,
      schedule: '0 3 * * *',
      timeZone: 'Europe/Warsaw',
      httpTarget: {
        uri: CUSTOM_JOBS,
        httpMethod: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: Buffer.from(JSON.stringify(customJob)),
        oauthToken: { serviceAccountEmail: RUNNER, scope: 'https://www.googleapis.com/auth/cloud-platform' },
      },
    },
  });
  await scheduler.pauseJob({ name: JOB_ID });
  await scheduler.createJob({
    parent: PARENT,
    job: {
      name: PUBSUB_ID,
      schedule: '*/15 * * * *',
      timeZone: 'Etc/UTC',
      pubsubTarget: { topicName: 'projects/demo-proj/topics/metrics', data: Buffer.from('go') },
    },
  });
  await scheduler.close();
}

const job = (name: string) =>
  fake.schedulerJobs().find((j) => j.name === name) as {
    description?: string;
    schedule: string;
    timeZone: string;
    state: string;
    httpTarget: { uri: string; body: string };
  };
const postedBody = (name: string) =>
  JSON.parse(Buffer.from(job(name).httpTarget.body, 'base64').toString('utf8')) as unknown;

describe('mlform import of Cloud Scheduler jobs', () => {
  it('lists them, writes a Schedule and its template for the job it can describe, adopts it; the next plan has no changes', async () => {
    await seedJobs();
    const mlform = mlformOn(fake);

    const listed = await mlform('import', '-f', dir);
    expect(listed.code, listed.out).toBe(0);
    expect(listed.out).toMatch(
      /Schedule\s+projects\/demo-proj\/locations\/europe-central2\/jobs\/nightly-retrain\s+nightly-retrain\s+-\s+cron "0 3 \* \* \*" Europe\/Warsaw, paused; runs us-docker.pkg.dev\/acme\/train:5/,
    );
    expect(listed.out).toMatch(/jobs\/export-metrics .*not adoptable: it publishes to Pub\/Sub/);

    const out = join(dir, 'imported');
    const generated = await mlform('import', '-f', dir, '--generate-config-out', out);
    expect(generated.code, generated.out).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['import-entries.txt', 'schedule-nightly-retrain.yaml']);
    const manifest = await readFile(join(out, 'schedule-nightly-retrain.yaml'), 'utf8');
    expect(manifest).toContain('mlform/scheduled-only: "true"');
    expect(manifest).toContain('image: us-docker.pkg.dev/acme/train:5');
    expect(manifest).toMatch(/accelerator:\n\s+type: NVIDIA_TESLA_T4\n\s+count: 1/);
    expect(manifest).toMatch(
      /trainingRun: nightly-retrain\n\s+cron: 0 3 \* \* \*\n\s+timeZone: Europe\/Warsaw\n\s+suspend: true/,
    );
    const entries = await readFile(join(out, 'import-entries.txt'), 'utf8');
    expect(entries).toContain(`to: Schedule/nightly-retrain`);
    expect(entries).toMatch(
      /Not generated:\n#\s+projects\/demo-proj\/locations\/europe-central2\/jobs\/export-metrics: it publishes to Pub\/Sub/,
    );

    await appendFile(join(dir, 'mlform.yaml'), entries);
    const valid = await mlform('validate', dir);
    expect(valid.code, valid.out).toBe(0);

    const planned = await mlform('plan', dir);
    expect(planned.code, planned.out).toBe(0);
    expect(planned.out).toContain(`<= adopt Schedule/nightly-retrain (${JOB_ID})`);
    expect(planned.out).toContain('Plan: 0 to add, 0 to change, 0 to destroy, 1 to adopt.');

    const before = job(JOB_ID);
    const body = postedBody(JOB_ID);
    const applied = await mlform('apply', dir, '-y');
    expect(applied.code, applied.out).toBe(0);
    const after = await mlform('plan', dir, '--detailed-exitcode');
    expect(after.out).toContain('No changes');
    expect(after.code, after.out).toBe(0);

    // Only the description changed: same schedule, zone, state and body; no training was started.
    const now = job(JOB_ID);
    expect(now.description).toMatch(/^mlform spec [0-9a-f]+ \{"stack":"demo","name":"nightly-retrain"/);
    expect({ ...now, description: undefined, userUpdateTime: undefined }).toEqual({
      ...before,
      description: undefined,
      userUpdateTime: undefined,
    });
    expect(postedBody(JOB_ID)).toEqual(body);
    expect(fake.customJobs()).toEqual([]);
    // The Pub/Sub job was left alone, and is still listed as unmanaged.
    expect(job(PUBSUB_ID).description).toBeUndefined();
    const again = await mlform('import', '-f', dir);
    expect(again.out).toContain(PUBSUB_ID);
    expect(again.out).not.toContain(JOB_ID);
  }, 120_000);

  it('adopts one job from the command line; a changed template is then written into that job', async () => {
    await seedJobs();
    const mlform = mlformOn(fake);
    const out = join(tmpdir(), `mlform-import-schedule-out-${process.pid}-${Date.now()}`);
    const generated = await mlform('import', '-f', dir, '--generate-config-out', out);
    expect(generated.code, generated.out).toBe(0);
    const file = join(dir, 'schedule.yaml');
    await writeFile(file, await readFile(join(out, 'schedule-nightly-retrain.yaml'), 'utf8'));
    await rm(out, { recursive: true, force: true });

    const adopted = await mlform('import', '-f', dir, 'Schedule/nightly-retrain', JOB_ID, '-y');
    expect(adopted.code, adopted.out).toBe(0);
    expect(adopted.out).toContain('Plan: 0 to add, 0 to change, 0 to destroy, 1 to adopt.');
    const after = await mlform('plan', dir, '--detailed-exitcode');
    expect(after.code, after.out).toBe(0);

    // The template changes (ten epochs to twenty) and the schedule resumes: the adopted job gets them.
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace(/- ["']10["']/, '- "20"').replace('  suspend: true\n', ''),
    );
    const changed = await mlform('apply', dir, '-y');
    expect(changed.code, changed.out).toBe(0);
    expect(changed.out).toContain('Schedule/nightly-retrain');
    expect(
      fake
        .schedulerJobs()
        .map((j) => j.name)
        .sort(),
    ).toEqual([PUBSUB_ID, JOB_ID].sort());
    expect(job(JOB_ID).state).toBe('ENABLED');
    const posted = JSON.stringify(postedBody(JOB_ID));
    expect(posted).toContain('"--epochs","20"');
    expect(posted).toContain('"mlform-schedule":"nightly-retrain"');
    const settled = await mlform('plan', dir, '--detailed-exitcode');
    expect(settled.code, settled.out).toBe(0);
  }, 120_000);
});
