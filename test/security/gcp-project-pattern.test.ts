/**
 * mlform.yaml's `gcp.project` and regions reach URLs and the commands mlform prints for pasting
 * (`gcloud ... --project=... --region=...`): a commit cannot put shell syntax in them.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from './cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-sec-gcp-project-'));
});
afterAll(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));

const projectFile = (project: string, region: string) =>
  [
    'stack: s',
    'provider: gcp',
    'gcp:',
    `  project: ${JSON.stringify(project)}`,
    `  region: ${JSON.stringify(region)}`,
    '  bucket: gs://my-bucket/mlform',
    '  trainerImage: t',
    '  servingImage: s',
    '  serviceAccount: a@b.iam.gserviceaccount.com',
    '',
  ].join('\n');

it('refuses shell syntax in gcp.project and gcp.region at their line', async () => {
  await writeFile(join(dir, 'mlform.yaml'), projectFile('x; touch /tmp/p', 'eu$(id)1'));
  const r = runCli(['validate', dir]);
  expect(r.code).toBe(1);
  expect(r.all).toMatch(/mlform\.yaml:4:12 error \[invalid-value\] gcp\.project is not valid/);
  expect(r.all).toMatch(/mlform\.yaml:5:11 error \[invalid-value\] gcp\.region is not valid/);
});

it('accepts real project ids and region names', async () => {
  await writeFile(join(dir, 'mlform.yaml'), projectFile('demo-proj-123', 'northamerica-northeast2'));
  const r = runCli(['validate', dir]);
  expect(r.all).not.toContain('invalid-value');
});
