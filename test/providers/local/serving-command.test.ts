/**
 * A local DeployedEndpoint with `container.command`: one sandboxed process per served version
 * (test/fixtures/serving-command/server.py under bubblewrap), mlform's own server in front with
 * the traffic split, pinned versions and readiness; an unchanged put restarts nothing; delete
 * stops every process. Without the operator's command policy nothing runs.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PutEndpointRequest } from '../../../providers/provider.js';
import { createLocalProvider } from '../../../providers/local/index.js';
import { RESERVED_CONTAINER_ENV } from '../../../providers/serving-container.js';
import { REPO, tempProject, waitFor, type Project } from './helpers.js';
import { describeWithSandbox } from '../../sandbox-available.js';

const FIXTURE = join(REPO, 'test/fixtures/serving-command/server.py');
const POLICY = { allowCommands: true, allowNetwork: false, allowUnsandboxed: false };

let project: Project;
/**
 * The server script, copied into the project: a sandboxed command sees the tree, not the
 * checkout's test folder (hidden when the checkout sits under /tmp or a home, as in CI).
 */
let SERVER = '';
const artifact = (v: number) => join(project.dir, 'artifacts', String(v));

beforeAll(async () => {
  project = await tempProject({ commands: POLICY, readyTimeoutMs: 20_000 });
  SERVER = join(project.dir, 'server.py');
  await copyFile(FIXTURE, SERVER);
  for (const v of [1, 2]) {
    await mkdir(artifact(v), { recursive: true });
    await writeFile(join(artifact(v), 'scale.json'), JSON.stringify({ scale: v * 10 }));
  }
});
afterAll(async () => {
  await project?.cleanup();
});

const request = (
  specHash: string,
  args = ['--port=$(PORT)', '--model=$(MODEL_NAME)'],
): PutEndpointRequest => ({
  name: 'scaler',
  spec: {
    model: 'scaler',
    traffic: [
      { version: 1, percent: 50 },
      { version: 2, percent: 50 },
    ],
    preset: 'development',
    batching: { enabled: true, maxBatchSize: 64, batchTimeoutMicros: 0 },
    timeoutSeconds: 30,
    container: {
      command: ['python3', SERVER],
      args,
      env: { FILE_TO_PROBE: join(project.stateDir, 'endpoints/scaler/serve.key') },
      port: 8080,
      healthPath: '/healthz',
      predictPath: '/predict',
    },
  },
  specHash,
  traffic: [1, 2].map((v) => ({ version: v, percent: 50, artifactUri: artifact(v) })),
  labels: {},
  annotations: {},
});

const predict = async (url: string, path = '/v1/models/scaler:predict') => {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"instances": [1, 2]}',
  });
  return {
    status: res.status,
    version: res.headers.get('x-model-version'),
    body: (await res.json()) as unknown,
  };
};

/** The pids of the sandboxed servers (python3 running the fixture under this project). */
async function serverPids(): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const argv = cmdline.split('\0');
    if (argv[0] === 'python3' && argv[1] === SERVER) pids.push(Number(entry));
  }
  return pids;
}

describeWithSandbox('a serving command per version, locally', () => {
  it('serves both versions behind mlform’s server with a 50/50 split, sandboxed; delete stops everything', async () => {
    const { provider, ctx } = project;
    const put = await provider.deployedEndpoints.put(ctx, request('h1'));
    expect(put.diagnostics).toEqual([]);
    const url = put.endpoint?.url ?? '';
    expect(put.endpoint).toMatchObject({
      healthy: true,
      traffic: [
        { version: 1, percent: 50 },
        { version: 2, percent: 50 },
      ],
    });

    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await predict(url));
    // Both versions answer, each with its own artifact; the split is exact and interleaved.
    expect(answers.map((a) => a.version).sort()).toEqual(['1', '1', '2', '2']);
    for (const a of answers) {
      const v = Number(a.version);
      expect(a).toMatchObject({ status: 200, body: { predictions: [10 * v, 20 * v], version: String(v) } });
    }
    // The upstream's own path on the front, and a pinned version.
    expect((await predict(url, '/predict')).status).toBe(200);
    expect(await predict(url, '/v1/models/scaler/versions/2:predict')).toMatchObject({
      version: '2',
      body: { predictions: [20, 40] },
    });

    // What the sandbox lets a server see: its own scratch writable, its artifact read-only, the
    // state folder hidden, only mlform's variables and the manifest's.
    const config = JSON.parse(
      await readFile(join(project.stateDir, 'endpoints/scaler/config.json'), 'utf8'),
    ) as {
      versions: { version: number; upstream: { url: string } }[];
    };
    const probe = (await (await fetch(`${config.versions[0].upstream.url}/probe`)).json()) as Record<
      string,
      unknown
    >;
    expect(probe).toMatchObject({
      version: '1',
      argv: [`--port=${config.versions[0].upstream.url.split(':').pop()}`, '--model=scaler'],
      cwd: project.dir,
      writesArtifact: false,
      writesHome: true,
      seesFile: false,
    });
    expect(probe.env).toEqual(expect.arrayContaining([...RESERVED_CONTAINER_ENV, 'FILE_TO_PROBE']));
    expect(probe.env).not.toContain('MLFORM_SERVE_PROOF_KEY');
    expect(probe.env).not.toContain('MLFORM_SERVE_UPSTREAMS');

    const pids = await serverPids();
    expect(pids).toHaveLength(2);

    // Unchanged: nothing restarts. A changed argument: new processes.
    const again = await provider.deployedEndpoints.put(ctx, request('h1'));
    expect(again.diagnostics).toEqual([]);
    expect((await serverPids()).sort()).toEqual(pids.sort());
    const changed = await provider.deployedEndpoints.put(
      ctx,
      request('h2', ['--port=$(PORT)', '--model=other']),
    );
    expect(changed.diagnostics).toEqual([]);
    const restarted = await serverPids();
    expect(restarted).toHaveLength(2);
    expect(restarted.some((p) => pids.includes(p))).toBe(false);
    expect((await predict(changed.endpoint?.url ?? '')).status).toBe(200);

    // A server that dies takes mlform's server down with it: drift the next put restarts.
    const [victim] = await serverPids();
    process.kill(victim, 'SIGKILL');
    const down = await waitFor(
      async () => (await provider.deployedEndpoints.list(ctx)).items.find((e) => e.name === 'scaler'),
      (e) => e?.healthy === false,
    );
    expect(down?.healthDetail).toMatch(/^process \d+ /);
    const revived = await provider.deployedEndpoints.put(
      ctx,
      request('h2', ['--port=$(PORT)', '--model=other']),
    );
    expect(revived.diagnostics).toEqual([]);
    expect(revived.endpoint?.healthy).toBe(true);
    expect(await serverPids()).toHaveLength(2);
    expect((await predict(revived.endpoint?.url ?? '')).status).toBe(200);

    const deleted = await provider.deployedEndpoints.delete(ctx, { name: 'scaler' });
    expect(deleted.diagnostics).toEqual([]);
    expect(await serverPids()).toEqual([]);
  }, 60_000);

  it('without the operator’s command policy: nothing runs, and the error says how to allow it', async () => {
    const strict = createLocalProvider({ basePort: 0, commands: { ...POLICY, allowCommands: false } });
    const put = await strict.deployedEndpoints.put(project.ctx, { ...request('h3'), name: 'refused' });
    expect(put.diagnostics.map((d) => [d.code, d.path])).toEqual([
      ['command-not-allowed', ['spec', 'container', 'command']],
    ]);
    expect(put.diagnostics[0].hint).toMatch(/MLFORM_ALLOW_COMMANDS=1/);
    expect(await serverPids()).toEqual([]);
  });

  it('checks at plan time: a command to run, the policy and bubblewrap, no variable mlform sets', async () => {
    const source = { file: 'endpoint.yaml', line: 1, col: 1 };
    const endpoint = (container: Record<string, unknown>) => ({
      kind: 'DeployedEndpoint' as const,
      name: 'e',
      address: 'DeployedEndpoint/e',
      manifest: { spec: { container: { port: 8080, healthPath: '/', predictPath: '/p', ...container } } },
      source,
    });
    const resources = [
      endpoint({ image: 'tfs:2' }),
      endpoint({ command: ['python3', 'serve.py'], env: { MODEL_URI: 'x' } }),
      endpoint({ command: ['python3', 'serve.py'] }),
    ];
    const allowed = await project.provider.validate?.(project.ctx, resources);
    expect(allowed?.map((d) => [d.code, d.path])).toEqual([
      ['local-container-command', ['spec', 'container']],
      ['container-env-reserved', ['spec', 'container', 'env', 'MODEL_URI']],
    ]);
    const noBwrap = createLocalProvider({ commands: { ...POLICY, bwrapPath: '/nonexistent/bwrap' } });
    const refused = await noBwrap.validate(project.ctx, [resources[2]]);
    expect(refused.map((d) => [d.code, d.file, d.path])).toEqual([
      ['sandbox-missing', 'endpoint.yaml', ['spec', 'container', 'command']],
    ]);
  });
});
