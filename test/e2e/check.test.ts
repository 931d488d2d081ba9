/**
 * `mlform check` through the CLI: a gcp project against test/fakes/gcp (every check passes; a
 * missing bucket fails with its fix; the JSON shape) and a local project.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';
import { CLI_ENV } from './cli.js';
import { gcpProjectFile } from '../providers/gcp/project-file.js';
import { PROJECT_PERMISSIONS } from '../../providers/gcp/preflight-iam.js';

let fake: FakeGcp;
let root: string;
let gcpProject: string;
let localProject: string;

beforeAll(async () => {
  fake = await startFakeGcp();
  root = await mkdtemp(join(tmpdir(), 'mlform-check-'));
  gcpProject = join(root, 'gcp');
  localProject = join(root, 'local');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(gcpProject);
  await mkdir(localProject);
  // The fake's buckets are in US-CENTRAL1.
  await writeFile(join(gcpProject, 'mlform.yaml'), gcpProjectFile('us-central1', 'us-central1'));
  await writeFile(join(localProject, 'mlform.yaml'), 'stack: demo\nprovider: local\n');
});
afterAll(async () => {
  await fake?.close();
  await rm(root, { recursive: true, force: true });
});

/** Async, so the fake in this process answers the CLI. */
function mlform(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; out: string }>((done) => {
    const child = spawn(process.execPath, ['bin/mlform.js', ...args], {
      env: {
        ...process.env,
        ...CLI_ENV,
        MLFORM_GCP_API_ENDPOINT: fake.url,
        MLFORM_GCP_RETRY_BASE_MS: '1',
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, out: stdout + stderr }));
  });
}

interface CheckJson {
  ok: boolean;
  provider: string;
  stack: string;
  checks: { name: string; status: string; detail: string; fix?: string }[];
}

describe('mlform check on gcp', () => {
  it('passes every check against the fake, leaving no probe object behind', async () => {
    fake.resetRequests();
    const r = await mlform(['check', '-f', gcpProject, '-o', 'json']);
    expect(r.code, r.out).toBe(0);
    const report = JSON.parse(r.stdout) as CheckJson;
    expect(report).toMatchObject({ ok: true, provider: 'gcp', stack: 'demo' });
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
    expect(byName).toMatchObject({
      credentials: 'pass',
      'Vertex AI': 'pass',
      'Cloud Run': 'pass',
      'Cloud Scheduler': 'pass',
      bucket: 'pass',
      'bucket location': 'pass',
      'bucket access': 'pass',
      'Secret Manager': 'skip',
      'permissions on the project': 'pass',
      'permissions on the bucket': 'pass',
      images: 'pass',
    });
    for (const c of report.checks) expect(typeof c.detail).toBe('string');
    // The probe was written under the stack's prefix, then deleted.
    expect(fake.count({ rpc: 'objects.insert' })).toBe(1);
    expect(fake.count({ rpc: 'objects.delete' })).toBe(1);
  });

  it('a missing bucket fails with the command that creates it', async () => {
    fake.failNext({ kind: '404', rpc: 'buckets.get' });
    const r = await mlform(['check', '-f', gcpProject]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('✗ bucket: gs://mlform-test does not exist');
    expect(r.out).toContain('fix: gcloud storage buckets create gs://mlform-test --location=us-central1');
    expect(r.out).toContain('1 check(s) failed');
  });

  it('a denied API names the permission and the role', async () => {
    fake.failNext({ kind: '403', rpc: 'ListJobs', permission: 'cloudscheduler.jobs.list' });
    const r = await mlform(['check', '-f', gcpProject]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ Cloud Scheduler: .*cloudscheduler\.jobs\.list/);
    expect(r.out).toContain('roles/cloudscheduler.admin');
  });
});

describe('mlform check: the roles of the identity, the images', () => {
  it('each missing permission with the role that grants it, on the project and on the bucket', async () => {
    const held = PROJECT_PERMISSIONS.filter(
      (p) => p !== 'aiplatform.customJobs.create' && !p.startsWith('cloudscheduler.'),
    );
    fake.setGrantedPermissions([...held, 'storage.objects.get', 'storage.objects.list']);
    fake.resetRequests();
    try {
      const r = await mlform(['check', '-f', gcpProject, '-o', 'json']);
      expect(r.code, r.out).toBe(1);
      const checks = (JSON.parse(r.stdout) as CheckJson).checks;
      const project = checks.find((c) => c.name === 'permissions on the project');
      expect(project?.status).toBe('fail');
      expect(project?.detail).toBe(
        'missing on project demo-proj: aiplatform.customJobs.create (roles/aiplatform.user); ' +
          'cloudscheduler.jobs.create, cloudscheduler.jobs.update, cloudscheduler.jobs.list, cloudscheduler.jobs.pause, ' +
          'cloudscheduler.jobs.enable, cloudscheduler.jobs.run, cloudscheduler.jobs.delete (roles/cloudscheduler.admin)',
      );
      expect(project?.fix).toContain(
        'gcloud projects add-iam-policy-binding demo-proj --member=MEMBER --role=roles/aiplatform.user; ' +
          'gcloud projects add-iam-policy-binding demo-proj --member=MEMBER --role=roles/cloudscheduler.admin',
      );
      const bucket = checks.find((c) => c.name === 'permissions on the bucket');
      expect(bucket).toMatchObject({
        status: 'fail',
        detail:
          'missing on gs://mlform-test: storage.objects.create, storage.objects.update, storage.objects.delete (roles/storage.objectAdmin)',
        fix: 'gcloud storage buckets add-iam-policy-binding gs://mlform-test --member=MEMBER --role=roles/storage.objectAdmin (deploy/README.md "Identities and IAM roles")',
      });
      // One call each (the fake checks the Resource Manager body against the SDK's protos).
      expect(fake.count({ rpc: 'TestIamPermissions' })).toBe(1);
      expect(fake.count({ rpc: 'buckets.testIamPermissions' })).toBe(1);
    } finally {
      fake.setGrantedPermissions(undefined);
    }
  });

  it('an image never pushed fails with the fix; a pushed one passes', async () => {
    fake.resetRequests();
    fake.pushImage('europe-docker.pkg.dev/demo-proj/mlform/trainer:1');
    const r = await mlform(['check', '-f', gcpProject]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(
      '✗ images: not found: serving europe-docker.pkg.dev/demo-proj/mlform/serving:1; found: trainer europe-docker.pkg.dev/demo-proj/mlform/trainer:1',
    );
    expect(r.out).toContain('fix: build and push it (deploy/README.md "One-time setup", step 3)');
    fake.pushImage('europe-docker.pkg.dev/demo-proj/mlform/serving:1');
    const ok = await mlform(['check', '-f', gcpProject]);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/✓ images: found trainer .*trainer:1, serving .*serving:1/);
    expect(fake.count({ rpc: 'GetTag' })).toBe(4);
  });
});

describe('mlform check on a local project', () => {
  it('the state directory is writable and nothing else is needed', async () => {
    const stateDir = join(root, 'state');
    const r = await mlform(['check', '-f', localProject, '--state-dir', stateDir, '-o', 'json']);
    expect(r.code, r.out).toBe(0);
    const report = JSON.parse(r.stdout) as CheckJson;
    expect(report.provider).toBe('local');
    expect(report.checks.find((c) => c.name === 'state directory')?.status).toBe('pass');
    expect(await readdir(stateDir)).toEqual([]);
  });

  it('commands allowed without bubblewrap: fails with the fix', async () => {
    const r = await mlform(['check', '-f', localProject, '--state-dir', join(root, 'state')], {
      MLFORM_ALLOW_COMMANDS: '1',
      MLFORM_BWRAP: join(root, 'no-bwrap'),
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain('✗ bubblewrap');
    expect(r.out).toContain('apt-get install bubblewrap');
  });
});

describe('mlform check never writes where the manifests may not', () => {
  it('a local.stateDir outside the project is refused before any write', async () => {
    const outside = join(root, 'outside');
    const escaping = join(root, 'escaping');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(escaping);
    await writeFile(
      join(escaping, 'mlform.yaml'),
      `stack: demo\nprovider: local\nlocal:\n  stateDir: ${outside}\n`,
    );
    const r = await mlform(['check', '-f', escaping], { MLFORM_STATE_DIR: '' });
    expect(r.code).toBe(1);
    expect(r.out).toContain('stateDir');
    await expect(readdir(outside)).rejects.toThrow();
  });
});
