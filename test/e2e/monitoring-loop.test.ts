/**
 * Issue 15's acceptance on real data, on the local provider, through the CLI: a model trained on
 * the US cars of cars.json serves the Japanese and European ones (a population that really
 * differs). The server counts every request into the training bins; observation scores the
 * complete window: the features that moved are past the threshold, Year (similar model years) is
 * not; the endpoint is Degraded; a Slack-format and a signed webhook notification arrive; the
 * Schedule's drift trigger fires a retraining on the recent data, which is gated, registered and
 * rolled out; the next window scores against the new version's statistics, drift is resolved and
 * notified.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { appendFile, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENV, copyQuickstart } from './cli.js';
import { killProcessesUnder } from '../providers/local/helpers.js';
import { startReceiver, type Received, type Receiver } from '../notify/receiver.js';
import { windowKey } from '../../monitoring/layout.js';

const KEY = 'monitoring-e2e-signing-key';
const WINDOW_MS = 10_000;
/** The quickstart's features: every column of cars.json but the name and the target. */
const notFeature = new Set(['Name', 'Miles_per_Gallon']);
const MOVED = ['Cylinders', 'Displacement', 'Horsepower', 'Weight_in_lbs', 'Origin'];

interface Car extends Record<string, unknown> {
  Origin: string;
}

let root: string;
let project: string;
let receiver: Receiver;
let cars: Car[];

function mlform(...args: string[]): Promise<{ code: number | null; out: string; stdout: string }> {
  const child = spawn(process.execPath, ['bin/mlform.js', ...args], {
    env: {
      ...process.env,
      ...CLI_ENV,
      MLFORM_SECRET_SLACK_URL: receiver.url('/slack'),
      MLFORM_SECRET_HOOK_URL: receiver.url('/hook'),
      MLFORM_SECRET_HOOK_SIGNING: KEY,
      MLFORM_NOTIFY_ALLOW_PRIVATE: '1',
      MLFORM_NOTIFY_CA: receiver.certFile,
    },
  });
  let out = '';
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => ((out += c.toString()), (stdout += c.toString())));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, stdout })));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const eventOf = (r: Received): string =>
  r.path === '/hook' ? String(r.headers['x-mlform-event']) : slackEvent(r.body);
/** The Slack sink's fallback text starts with the event type. */
const slackEvent = (body: string): string =>
  String((JSON.parse(body) as { text?: string }).text ?? '').split(':')[0];
const signed = (r: Received): boolean =>
  r.headers['x-mlform-signature'] ===
  `sha256=${createHmac('sha256', KEY)
    .update(`${String(r.headers['x-mlform-timestamp'])}.${r.body}`)
    .digest('hex')}`;

async function endpointUrl(): Promise<string> {
  const record = JSON.parse(
    await readFile(join(project, '.mlform/endpoints/mpg-api/endpoint.json'), 'utf8'),
  ) as {
    url: string;
  };
  return record.url;
}

/**
 * Every non-US car once, as one-instance requests, inside one fresh window; returns that window's
 * start once its summary of `version` is written and the window is complete.
 */
async function serveOneWindow(version: number): Promise<number> {
  const url = `${await endpointUrl()}/v1/models/mpg:predict`;
  const rows = cars.filter((c) => c.Origin !== 'USA');
  // Start just after a boundary so that all requests land in one window.
  const start = Math.ceil(Date.now() / WINDOW_MS) * WINDOW_MS;
  await sleep(start - Date.now() + 200);
  for (let i = 0; i < rows.length; i += 8) {
    await Promise.all(
      rows.slice(i, i + 8).map(async (row) => {
        const instance = Object.fromEntries(Object.entries(row).filter(([k]) => !notFeature.has(k)));
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [instance] }),
        });
        expect(res.status).toBe(200);
        await res.text();
      }),
    );
  }
  expect(Date.now()).toBeLessThan(start + WINDOW_MS);
  const folder = join(project, '.mlform/monitoring/mpg-api/windows', windowKey(start));
  for (;;) {
    const files = (await readdir(folder).catch(() => [] as string[])).filter((f) =>
      f.startsWith(`v${version}-`),
    );
    const counted = await Promise.all(
      files.map(
        async (f) => (JSON.parse(await readFile(join(folder, f), 'utf8')) as { count: number }).count,
      ),
    );
    if (Date.now() > start + WINDOW_MS && counted.reduce((a, b) => a + b, 0) >= rows.length) return start;
    if (Date.now() > start + 4 * WINDOW_MS)
      throw new Error(`no complete summary of v${version} in ${folder}`);
    await sleep(250);
  }
}

interface EndpointJson {
  health: string;
  monitoring?: {
    drift: string;
    count: number;
    features: { name: string; score: number; drifted: boolean }[];
  };
}
async function endpointStatus(): Promise<EndpointJson> {
  const r = await mlform('get', 'deployedendpoint/mpg-api', '-o', 'json', '-f', project);
  expect(r.code, r.out).toBe(0);
  return (JSON.parse(r.stdout) as { resources: EndpointJson[] }).resources[0];
}

const writeCars = (rows: Car[]) => writeFile(join(root, 'data', 'cars-recent.json'), JSON.stringify(rows));

beforeAll(async () => {
  receiver = await startReceiver();
  ({ root, project } = await copyQuickstart('mlform-monitoring-', /schedule\.yaml$/));
  execFileSync('git', ['init', '-q', root]);
  cars = JSON.parse(await readFile('examples/data/cars.json', 'utf8')) as Car[];
  // The data the team has so far: US cars only.
  await writeCars(cars.filter((c) => c.Origin === 'USA'));
  const training = join(project, 'training.yaml');
  await writeFile(
    training,
    (await readFile(training, 'utf8'))
      .replace('file://../data/cars.json', 'file://../data/cars-recent.json')
      .replace('epochs: 150', 'epochs: 40')
      .replace(/patience: \d+/, 'patience: 5'),
  );
  const model = join(project, 'model.yaml');
  await writeFile(
    model,
    (await readFile(model, 'utf8'))
      .replace('max: 4.0', 'max: 6.0')
      // The newest version that passes the gate serves: a retraining on recent data replaces it.
      .replace('champion: { policy: best, metric: val_mae }', 'champion: { policy: latest }'),
  );
  await appendFile(
    join(project, 'endpoint.yaml'),
    '  monitoring: { sampleRate: 0.5, window: 10s, minSamples: 100, retention: 1m, drift: { metric: psi, threshold: 0.2 } }\n',
  );
  await writeFile(
    join(project, 'retrain.yaml'),
    `apiVersion: mlform/v1
kind: Schedule
metadata:
  name: mpg-on-drift
spec:
  trainingRun: mpg-mlp
  timeZone: UTC
  cooldown: 1h
  triggers:
    - drift: { endpoint: mpg-api }
`,
  );
  await appendFile(
    join(project, 'mlform.yaml'),
    `notifications:
  - name: team
    type: slack
    url: {secretRef: {name: slack, key: url}}
    events: [drift.detected, drift.resolved]
  - name: ops
    type: webhook
    url: {secretRef: {name: hook, key: url}}
    signingKey: {secretRef: {name: hook, key: signing}}
`,
  );
}, 60_000);

afterAll(async () => {
  if (project) await mlform('destroy', '-y', project);
  await receiver?.close();
  if (root) {
    await killProcessesUnder(root);
    await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
});

describe('monitoring on real data (local provider, through the CLI)', () => {
  it('drift on the features that moved, Degraded, notified, retrained on a trigger, resolved', async () => {
    const first = await mlform('apply', '-y', project);
    expect(first.code, first.out).toBe(0);

    // 1. A window of Japanese and European cars against a model of US cars.
    const window1 = await serveOneWindow(1);
    const logs = await readdir(join(project, '.mlform/monitoring/mpg-api/logs'), { recursive: true });
    expect(logs.some((f) => f.endsWith('.jsonl'))).toBe(true);
    const drifted = await endpointStatus();
    expect(drifted.health).toBe('Degraded');
    expect(drifted.monitoring?.drift).toBe('drifted');
    expect(drifted.monitoring?.count).toBe(cars.filter((c) => c.Origin !== 'USA').length);
    const score = (name: string) => drifted.monitoring?.features.find((f) => f.name === name);
    for (const name of MOVED) expect(score(name), name).toMatchObject({ drifted: true });
    for (const name of MOVED) expect(score(name)?.score, name).toBeGreaterThan(0.2);
    expect(score('Year')?.score).toBeLessThan(0.2);
    expect(score('Year')?.drifted).toBe(false);

    // 2. The new data has arrived; apply fires the drift trigger, retrains, gates, rolls out, and
    // sends drift.detected to both sinks.
    await writeCars(cars.filter((c) => c.Origin !== 'USA'));
    const retrain = await mlform('apply', '-y', project);
    expect(retrain.code, retrain.out).toBe(0);
    expect(retrain.out).toMatch(/fire/i);
    const detected = receiver.received.filter((r) => eventOf(r) === 'drift.detected');
    expect(detected.map((r) => r.path).sort()).toEqual(['/hook', '/slack']);
    const slack = JSON.parse(detected.find((r) => r.path === '/slack')?.body ?? '{}') as {
      text?: string;
      blocks?: unknown[];
    };
    expect(slack.text).toContain('mpg-api');
    expect(Array.isArray(slack.blocks)).toBe(true);
    const hook = detected.find((r) => r.path === '/hook');
    expect(hook && signed(hook)).toBe(true);
    expect(hook?.headers['x-mlform-delivery']).toBeTruthy();
    const hookTypes = receiver.received.filter((r) => r.path === '/hook').map(eventOf);
    expect(hookTypes).toEqual(
      expect.arrayContaining([
        'schedule.triggered',
        'run.started',
        'run.succeeded',
        'version.registered',
        'rollout.done',
      ]),
    );
    const runs = await readdir(join(project, '.mlform/runs/mpg-mlp'));
    expect(runs.length).toBeGreaterThanOrEqual(2);
    const describe = await mlform('describe', 'schedule/mpg-on-drift', '-f', project);
    expect(describe.out).toMatch(/drift on DeployedEndpoint\/mpg-api/);

    // 3. The same population against the retrained version: drift resolved, and said so.
    const window2 = await serveOneWindow(2);
    expect(window2).toBeGreaterThan(window1);
    const resolved = await mlform('apply', '-y', project);
    expect(resolved.code, resolved.out).toBe(0);
    const healthy = await endpointStatus();
    expect(healthy.monitoring?.drift).toBe('ok');
    expect(healthy.health).toBe('Healthy');
    const resolvedEvents = receiver.received.filter((r) => eventOf(r) === 'drift.resolved');
    expect(resolvedEvents.map((r) => r.path).sort()).toEqual(['/hook', '/slack']);
    // The cooldown holds: no second signal-fired run.
    expect((await readdir(join(project, '.mlform/runs/mpg-mlp'))).length).toBe(runs.length);
  }, 420_000);
});
