/**
 * The set-up failures of a first hour on Google Cloud (providers/gcp/errors.ts, credentials.ts):
 * a 403 names the permission and the role of deploy/README.md, a refused connection names the
 * host, and credentials that cannot be found are one diagnostic with the fix.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentialsGate, findCredentials } from '../../../providers/gcp/credentials.js';
import { roleFor } from '../../../providers/gcp/errors.js';
import { createGcpProvider } from '../../../providers/gcp/index.js';
import { CONFIG, harness, type Harness } from './helpers.js';

let h: Harness | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('PERMISSION_DENIED', () => {
  it('names the permission and the role that grants it', async () => {
    h = await harness();
    h.fake.failNext({ kind: '403', rpc: 'ListCustomJobs', permission: 'aiplatform.customJobs.list' });
    const listed = await h.provider.trainingRuns.list(h.ctx);
    expect(listed.diagnostics).toHaveLength(1);
    const [d] = listed.diagnostics;
    expect(d?.code).toBe('gcp-permission');
    expect(d?.message).toContain('aiplatform.customJobs.list');
    expect(d?.hint).toContain('roles/aiplatform.user');
  });

  it('reads Cloud Storage wording too', async () => {
    h = await harness();
    h.fake.failNext({ kind: '403', api: 'storage', permission: 'storage.objects.list' });
    const listed = await h.provider.registeredModels.list(h.ctx);
    const [d] = listed.diagnostics;
    expect(d?.message).toContain('storage.objects.list');
    expect(d?.hint).toContain('roles/storage.objectAdmin');
  });

  it('maps permission prefixes to the roles of deploy/README.md', () => {
    expect(roleFor('run.services.create')).toContain('roles/run.developer');
    expect(roleFor('cloudscheduler.jobs.create')).toContain('roles/cloudscheduler.admin');
    expect(roleFor('iam.serviceAccounts.actAs')).toContain('roles/iam.serviceAccountUser');
    expect(roleFor('secretmanager.secrets.get')).toContain('roles/secretmanager.viewer');
    expect(roleFor('compute.instances.list')).toBeUndefined();
  });
});

describe('an API host that cannot be reached', () => {
  it('names the host and what to check, once for all calls to it', async () => {
    const port = await closedPort();
    const provider = createGcpProvider({
      config: CONFIG,
      endpoint: `http://127.0.0.1:${port}`,
      retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 },
    });
    try {
      const ctx = { stack: 'demo', projectDir: process.cwd() };
      const [runs, services] = await Promise.all([
        provider.trainingRuns.list(ctx),
        provider.deployedEndpoints.list(ctx),
      ]);
      const all = [...runs.diagnostics, ...services.diagnostics];
      expect(all.length).toBeGreaterThan(0);
      for (const d of all) {
        expect(d.code).toBe('gcp-unreachable');
        expect(d.message).toContain(`127.0.0.1:${port}`);
        expect(d.hint).toContain('MLFORM_GCP_API_ENDPOINT');
      }
      // One cause, one message: equal diagnostics (printed once by the CLI).
      expect(new Set(all.map((d) => d.message)).size).toBe(1);
    } finally {
      await provider.close();
    }
  });
});

describe('findCredentials', () => {
  it('without any source: one diagnostic with the three fixes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlform-creds-'));
    const port = await closedPort();
    const found = await findCredentials({ HOME: dir, GCE_METADATA_HOST: `127.0.0.1:${port}` }, 500);
    expect(found.ok).toBe(false);
    if (found.ok) return;
    expect(found.diagnostic.code).toBe('gcp-no-credentials');
    expect(found.diagnostic.message).toContain('no Google Cloud credentials found');
    expect(found.diagnostic.hint).toContain('gcloud auth application-default login');
    expect(found.diagnostic.hint).toContain('GOOGLE_APPLICATION_CREDENTIALS=key.json');
    expect(found.diagnostic.hint).toContain('Workload Identity');
  });

  it('a GOOGLE_APPLICATION_CREDENTIALS that names no file is named', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlform-creds-'));
    const found = await findCredentials({
      HOME: dir,
      GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'nope.json'),
    });
    expect(found.ok).toBe(false);
    if (!found.ok) expect(found.diagnostic.message).toContain('nope.json');
  });

  it("gcloud's application-default file is found under HOME", async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlform-creds-'));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, '.config', 'gcloud'), { recursive: true });
    await writeFile(
      join(dir, '.config', 'gcloud', 'application_default_credentials.json'),
      JSON.stringify({ type: 'authorized_user', client_id: 'c', client_secret: 's', refresh_token: 'r' }),
    );
    const found = await findCredentials({ HOME: dir });
    expect(found).toMatchObject({ ok: true, source: 'gcloud' });
  });

  it('the gate shares one look-up, and looks again after a failure (a key mounted late)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlform-creds-'));
    const port = await closedPort();
    const ready = credentialsGate({ HOME: dir, GCE_METADATA_HOST: `127.0.0.1:${port}` });
    const first = await Promise.allSettled([ready(), ready(), ready()]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, '.config', 'gcloud'), { recursive: true });
    await writeFile(
      join(dir, '.config', 'gcloud', 'application_default_credentials.json'),
      JSON.stringify({ type: 'authorized_user', client_id: 'c', client_secret: 's', refresh_token: 'r' }),
    );
    await expect(ready()).resolves.toBeUndefined();
  });
});
