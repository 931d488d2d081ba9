/**
 * `mlform plan` on a gcp project as a new user runs it: no credentials, no network (no emulator,
 * no metadata server). One error with the fix, exit 1, no stack, no Node warning, no unhandled
 * rejection (issue 16 item 7).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ENV } from './cli.js';
import { gcpProjectFile } from '../providers/gcp/project-file.js';

let root: string;
let metadataPort: number;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-first-hour-'));
  await writeFile(join(root, 'mlform.yaml'), gcpProjectFile());
  // A port nothing listens on stands for the metadata server (bound, then closed).
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  metadataPort = typeof address === 'object' && address ? address.port : 1;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The CLI with an empty HOME and none of the variables that give credentials or an endpoint. */
function mlformWithout(args: string[], extra: Record<string, string> = {}) {
  const env: Record<string, string | undefined> = { ...process.env, ...CLI_ENV };
  for (const key of Object.keys(env)) {
    if (/^(GOOGLE_|GCLOUD_|CLOUDSDK_|GCE_METADATA|METADATA_SERVER|MLFORM_GCP_|MLFORM_DEBUG)/.test(key)) {
      delete env[key];
    }
  }
  const r = spawnSync(process.execPath, ['bin/mlform.js', ...args], {
    encoding: 'utf8',
    env: { ...env, HOME: join(root, 'home'), GCE_METADATA_HOST: `127.0.0.1:${metadataPort}`, ...extra },
    timeout: 60_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function expectOneCleanError(out: string): void {
  expect(out.match(/error \[/g) ?? []).toHaveLength(1);
  expect(out).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(out).not.toContain('UnhandledPromiseRejection');
  expect(out).not.toContain('MetadataLookupWarning');
  expect(out).not.toContain('Could not load the default credentials');
}

describe('plan on gcp without credentials or network', () => {
  it('exits 1 with one error naming the fixes', () => {
    const r = mlformWithout(['plan', root]);
    expect(r.code).toBe(1);
    expectOneCleanError(r.out);
    expect(r.out).toContain('no Google Cloud credentials found');
    expect(r.out).toContain('gcloud auth application-default login');
    expect(r.out).toContain('GOOGLE_APPLICATION_CREDENTIALS=key.json');
    expect(r.out).toContain('Workload Identity');
  });

  it('a GOOGLE_APPLICATION_CREDENTIALS naming no file: the same, naming it', () => {
    const r = mlformWithout(['plan', root], {
      GOOGLE_APPLICATION_CREDENTIALS: join(root, 'missing-key.json'),
    });
    expect(r.code).toBe(1);
    expectOneCleanError(r.out);
    expect(r.out).toContain('missing-key.json');
  });
});
