/**
 * `mlform plan` on gcp starts observing as soon as mlform.yaml is loaded (openProject's
 * `observeEarly`): its list calls go out while the manifests are still being read, the observation
 * is the one a plan made after loading, with the same calls (no Vertex AI ListEndpoints before the
 * manifests said whether any endpoint is on Vertex), and a project that fails to open reports
 * exactly what it reported before.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openProject } from '../../controller/cli/project.js';
import { observe } from '../../controller/engine/observe.js';
import { startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';
import { gcpProjectFile } from '../providers/gcp/project-file.js';

const RUNS = 150;
const run = (i: number) => `apiVersion: mlform/v1
kind: TrainingRun
metadata: {name: run-${i}}
spec:
  trainer:
    container: {image: europe-docker.pkg.dev/demo-proj/ml/train:1}
`;
const ENDPOINT = `apiVersion: mlform/v1
kind: DeployedEndpoint
metadata: {name: web}
spec:
  model: m
  traffic: [{version: 1, percent: 100}]
`;
const MODEL = `apiVersion: mlform/v1
kind: RegisteredModel
metadata: {name: m}
spec: {description: a model}
`;

let fake: FakeGcp;
let dir: string;
beforeAll(async () => {
  fake = await startFakeGcp();
  fake.setLatency(20);
  vi.stubEnv('MLFORM_GCP_API_ENDPOINT', fake.url);
  dir = await mkdtemp(join(tmpdir(), 'mlform-early-observe-'));
  await writeFile(join(dir, 'mlform.yaml'), gcpProjectFile());
  await writeFile(join(dir, 'model.yaml'), MODEL);
  await writeFile(join(dir, 'endpoint.yaml'), ENDPOINT);
  for (let i = 0; i < RUNS; i++) await writeFile(join(dir, `run-${i}.yaml`), run(i));
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const calls = () => fake.requests.map((r) => `${r.api} ${r.rpc}`).sort();

describe('plan observes while the manifests load', () => {
  it('lists before loading ends, with the observation and calls of a plan that observes after', async () => {
    fake.resetRequests();
    const opened = await openProject([dir], { readOnly: true, observeEarly: true });
    const openedAt = Date.now();
    expect(opened.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const project = opened.project;
    if (!project?.observation) throw new Error('no early observation');
    const early = await project.observation;
    expect(early.diagnostics).toEqual([]);
    // The first list call reached Google (the fake) while the manifests were still being read.
    expect(Math.min(...fake.requests.map((r) => r.at))).toBeLessThan(openedAt);
    const earlyCalls = calls();

    fake.resetRequests();
    const late = await observe(project.provider, project.providerCtx);
    expect(late).toEqual(early);
    expect(earlyCalls).toEqual(calls());
    expect(earlyCalls.filter((c) => c.includes('ListEndpoints'))).toEqual([]);
    expect(earlyCalls).toContain('run ListServices');
  });

  it('calls nothing in a region an operator policy forbids', async () => {
    const policyFile = join(dir, '..', `${dir.split('/').pop()}-policy.yaml`);
    await writeFile(policyFile, 'regions: [us-central1]\n');
    try {
      fake.resetRequests();
      const opened = await openProject([dir], {
        readOnly: true,
        observeEarly: true,
        operator: { dataRoots: [], policyFile },
      });
      expect(opened.project).toBeUndefined();
      expect(opened.diagnostics.some((d) => d.severity === 'error')).toBe(true);
      // Give any list call that was started a chance to arrive.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fake.requests).toEqual([]);
    } finally {
      await rm(policyFile);
    }
  });

  it('a project that fails to open reports the same errors, and no observation', async () => {
    await writeFile(join(dir, 'broken.yaml'), run(0).replace('run-0', 'Bad_Name'));
    try {
      const plain = await openProject([dir], { readOnly: true });
      const early = await openProject([dir], { readOnly: true, observeEarly: true });
      expect(early.project).toBeUndefined();
      expect(early.diagnostics).toEqual(plain.diagnostics);
      expect(early.diagnostics.some((d) => d.code === 'invalid-name')).toBe(true);
    } finally {
      await rm(join(dir, 'broken.yaml'));
    }
  });
});
