/**
 * `mlform controller` end to end against a real git remote (a bare repository in a temp dir) on
 * the local provider: commits converge, a bad commit is reported and outlived, removal prunes,
 * the webhook is authenticated, and two replicas on one state dir act once between them.
 * Needs `npm run build` (spawns bin/mlform.js).
 */
import { spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createQuickstartRepo,
  followRepoArgs,
  details,
  getStatus,
  killQuietly,
  postWebhook,
  processesMentioning,
  runRecords,
  signBody,
  startController,
  versionRecords,
  waitFor,
  type RunningController,
  type TestRepo,
} from './helpers.js';

const SECRET = 'e2e-webhook-secret';
let repo: TestRepo;
const started: RunningController[] = [];

const controllerArgs = (name: string, extra: string[]) => [
  ...followRepoArgs(repo, `checkout-${name}`),
  '--requeue',
  '1s',
  '--resync',
  '30s',
  '--prune',
  ...extra,
];

async function start(name: string, extra: string[]): Promise<RunningController> {
  const controller = await startController(controllerArgs(name, extra), { MLFORM_WEBHOOK_SECRET: SECRET });
  started.push(controller);
  return controller;
}

async function predict(url: string): Promise<number> {
  const response = await fetch(`${url}/v1/models/mpg:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      instances: [
        {
          Cylinders: 4,
          Displacement: 120,
          Horsepower: 95,
          Weight_in_lbs: 2400,
          Acceleration: 15,
          Year: '1980-01-01',
          Origin: 'Japan',
        },
      ],
    }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { predictions: number[] }).predictions[0];
}

async function endpointUrl(): Promise<string> {
  const record = JSON.parse(
    await readFile(join(repo.stateDir, 'endpoints', 'mpg-api', 'endpoint.json'), 'utf8'),
  ) as { url: string };
  return record.url;
}

beforeAll(async () => {
  repo = await createQuickstartRepo();
});

afterAll(async () => {
  for (const c of started) killQuietly(c.pid);
  // Leave no serving or training process behind, whatever happened.
  spawnSync(
    process.execPath,
    ['bin/mlform.js', 'destroy', '-y', '--state-dir', repo.stateDir, join(repo.work, 'quickstart')],
    {
      env: { ...process.env, CI: 'true' },
      timeout: 60_000,
    },
  );
  for (const pid of await processesMentioning(repo.stateDir)) killQuietly(pid);
  await rm(repo.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}, 90_000);

describe('mlform controller following a git branch', () => {
  let a: RunningController;

  it('converges a commit adding the manifests: run, version 1, endpoint answering', async () => {
    const sha = await repo.commit('quickstart', {});
    a = await start('a', ['--poll', '2s', '--lease-ttl', '3s']);
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    const status = await waitFor('the first convergence', async () => {
      const s = await getStatus(a.url);
      return details(s, 'DeployedEndpoint/mpg-api')?.includes('v1 100%') &&
        s.resources.every((r) => r.syncStatus === 'Synced')
        ? s
        : undefined;
    });
    expect(status.controller.leader).toBe(true);
    expect(status.controller.appliedCommit).toBe(sha);
    expect(details(status, 'TrainingRun/mpg-mlp')).toContain('run #1 succeeded');
    expect(details(status, 'RegisteredModel/mpg')).toContain('1 version; champion=v1');
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    const prediction = await predict(await endpointUrl());
    expect(prediction).toBeGreaterThan(10);
    expect(prediction).toBeLessThan(50);
    const table = spawnSync(process.execPath, ['bin/mlform.js', 'get', '--server', a.url], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/DeployedEndpoint\s+mpg-api\s+Synced\s+Healthy\s+http:/);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toContain(`mlform_last_synced_commit_info{commit="${sha}"} 1`);
    expect(metrics).toMatch(
      /mlform_provider_calls_total\{provider="local",kind="TrainingRun",verb="create",outcome="ok"\} 1/,
    );
  }, 120_000);

  it('converges a hyperparameter change to run #2 and version 2', async () => {
    const training = await repo.read('quickstart/training.yaml');
    const sha = await repo.commit('learning rate', {
      'quickstart/training.yaml': training.replace('learningRate: 0.003', 'learningRate: 0.002'),
    });
    const status = await waitFor('run #2 registered and rolled out', async () => {
      const s = await getStatus(a.url);
      return s.controller.appliedCommit === sha &&
        details(s, 'RegisteredModel/mpg')?.startsWith('2 versions') &&
        s.resources.every((r) => r.syncStatus === 'Synced')
        ? s
        : undefined;
    });
    expect(details(status, 'TrainingRun/mpg-mlp')).toContain('run #2 succeeded');
    expect(await versionRecords(repo.stateDir, 'mpg')).toEqual([
      { version: 1, run: 'mpg-mlp#1' },
      { version: 2, run: 'mpg-mlp#2' },
    ]);
  }, 120_000);

  it('reports a bad commit without stopping, keeps the last good state, and resumes with the next good one', async () => {
    const model = await repo.read('quickstart/model.yaml');
    const bad = await repo.commit('typo', {
      'quickstart/model.yaml': model.replace('keepVersions: 10', 'keepVersion: 10'),
    });
    const reported = await waitFor('the bad commit in /api/status', async () => {
      const s = await getStatus(a.url);
      return s.controller.badCommit?.commit === bad ? s : undefined;
    });
    expect(reported.controller.badCommit?.diagnostics.map((d) => d.message).join('\n')).toMatch(
      /keepVersion/,
    );
    expect(reported.controller.appliedCommit).not.toBe(bad);
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${a.url}/metrics`)).text();
    expect(metrics).toMatch(/mlform_errors_total\{type="validation"\} 1/);

    const good = await repo.commit('fix typo', {
      'quickstart/model.yaml': model.replace('description: Miles', 'description: Fixed. Miles'),
    });
    const resumed = await waitFor('the good commit applied', async () => {
      const s = await getStatus(a.url);
      return s.controller.appliedCommit === good &&
        s.controller.badCommit === null &&
        s.resources.every((r) => r.syncStatus === 'Synced')
        ? s
        : undefined;
    });
    expect(resumed.controller.lastSync?.result).toBe('succeeded');
  }, 90_000);

  it('rejects unsigned and wrongly signed webhooks with 401', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    expect((await postWebhook(a.url, body)).status).toBe(401);
    expect((await postWebhook(a.url, body, signBody('not-the-secret', body))).status).toBe(401);
    expect((await postWebhook(a.url, body, 'sha256=zz')).status).toBe(401);
    expect((await postWebhook(a.url, body, signBody(SECRET, body))).status).toBe(202);
  });

  it('stops cleanly on SIGTERM, releasing the leader lease', async () => {
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(a.lines.some((l) => l.msg === 'stopped')).toBe(true);
    await expect(readFile(join(repo.stateDir, 'leader.json'), 'utf8')).rejects.toThrow();
  }, 30_000);

  describe('two replicas on one state directory', () => {
    let b: RunningController;
    let c: RunningController;
    /** When b was leading and synced: its next 60 s poll is not due before this + 60 s. */
    let bSyncedAt = 0;

    it('only the leader acts; the standby reports standby', async () => {
      // Polling is slow here: changes arrive through the webhook.
      b = await start('b', ['--poll', '60s', '--lease-ttl', '2s']);
      await waitFor('b leading and synced', async () => (await fetch(`${b.url}/readyz`)).status === 200);
      bSyncedAt = Date.now();
      c = await start('c', ['--poll', '60s', '--lease-ttl', '2s']);
      await waitFor(
        'c loaded the manifests',
        async () => (await getStatus(c.url)).controller.commit !== null,
      );
      // c has tried for the lease and found b's.
      await waitFor(
        'c standing by',
        async () =>
          c.lines.some((l) => l.msg === 'standby: another replica leads; waiting for its lease to expire'),
        30_000,
        50,
      );
      const standby = await getStatus(c.url);
      expect(standby.controller.leader).toBe(false);
      expect((await fetch(`${c.url}/readyz`)).status).toBe(503);
      const body = '{}';
      expect((await postWebhook(c.url, body, signBody(SECRET, body))).status).toBe(503);
      expect(
        c.lines.some((l) => l.msg === 'standby: another replica leads; waiting for its lease to expire'),
      ).toBe(true);
    }, 60_000);

    it('a signed webhook syncs at once; removing a manifest prunes it (--prune)', async () => {
      await repo.commit('remove the schedule', { 'quickstart/schedule.yaml': null });
      const body = JSON.stringify({ ref: 'refs/heads/main' });
      expect((await postWebhook(b.url, body, signBody(SECRET, body))).status).toBe(202);
      // Before b's next 60 s poll is due: the webhook did it.
      const nextPoll = bSyncedAt + 60_000;
      await waitFor(
        'the schedule pruned',
        async () => !(await getStatus(b.url)).resources.some((r) => r.kind === 'Schedule'),
        nextPoll - Date.now() - 1_000,
      );
      expect(Date.now()).toBeLessThan(nextPoll);
    }, 70_000);

    it('takes over within the lease TTL + 5 s when the leader is killed, and nothing is done twice', async () => {
      killQuietly(b.pid, 'SIGKILL');
      const killed = Date.now();
      await waitFor('c leading', async () => (await getStatus(c.url)).controller.leader, 7_000, 100);
      expect(Date.now() - killed).toBeLessThan(2_000 + 5_000);

      const training = await repo.read('quickstart/training.yaml');
      const sha = await repo.commit('learning rate again', {
        'quickstart/training.yaml': training.replace('learningRate: 0.002', 'learningRate: 0.004'),
      });
      const body = '{}';
      await waitFor('c accepting webhooks', async () => {
        const response = await postWebhook(c.url, body, signBody(SECRET, body));
        return response.status === 202;
      });
      await waitFor('run #3 registered and rolled out by c', async () => {
        const s = await getStatus(c.url);
        return s.controller.appliedCommit === sha &&
          details(s, 'RegisteredModel/mpg')?.startsWith('3 versions') &&
          s.resources.every((r) => r.syncStatus === 'Synced')
          ? s
          : undefined;
      });

      const runs = await runRecords(repo.stateDir, 'mpg-mlp');
      expect(runs.map((r) => r.number)).toEqual([1, 2, 3]);
      expect(new Set(runs.map((r) => r.specHash)).size).toBe(3);
      const versions = await versionRecords(repo.stateDir, 'mpg');
      expect(versions.map((v) => v.run)).toEqual(['mpg-mlp#1', 'mpg-mlp#2', 'mpg-mlp#3']);
      const serving = await processesMentioning(join(repo.stateDir, 'endpoints', 'mpg-api'));
      expect(serving).toHaveLength(1);
      expect(await predict(await endpointUrl())).toBeGreaterThan(10);
    }, 120_000);

    it('self-heals: a killed serving process is drift, restarted by the next sync', async () => {
      const { pid } = JSON.parse(
        await readFile(join(repo.stateDir, 'endpoints', 'mpg-api', 'endpoint.json'), 'utf8'),
      ) as { pid: number };
      killQuietly(pid, 'SIGKILL');
      const body = '{}';
      expect((await postWebhook(c.url, body, signBody(SECRET, body))).status).toBe(202);
      await waitFor(
        'the endpoint restarted',
        async () => {
          const record = JSON.parse(
            await readFile(join(repo.stateDir, 'endpoints', 'mpg-api', 'endpoint.json'), 'utf8'),
          ) as { pid: number };
          return record.pid !== pid && (await predict(await endpointUrl())) > 10;
        },
        30_000,
      );
      expect(await processesMentioning(join(repo.stateDir, 'endpoints', 'mpg-api'))).toHaveLength(1);
    }, 40_000);
  });
});
