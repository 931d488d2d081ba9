/**
 * `mlform controller` serves the dashboard: the app open at `/`, its API behind the token, fed by
 * the loop's reconciles (the first one turns "no snapshot yet" into a built document, or the
 * views' placeholder until they land).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  killQuietly,
  modelsProject,
  startController,
  waitFor,
  type RunningController,
} from '../../controller/helpers.js';
import { openStream, TOKEN } from './fixtures.js';

let dir: string;
let workdir: string;
let running: RunningController | undefined;

beforeEach(async () => {
  dir = await modelsProject('mlform-web-ctlcmd-', 'webcmd', ['alpha']);
  workdir = await mkdtemp(join(tmpdir(), 'mlform-web-ctlwd-'));
});

afterEach(async () => {
  killQuietly(running?.pid);
  running = undefined;
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  await rm(workdir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

const NO_SNAPSHOT = 'no snapshot yet: the first observation is running';

describe('mlform controller with the dashboard', () => {
  it('serves the app openly and the API with the token, from its reconciles', async () => {
    const tokenFile = join(workdir, 'token');
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    running = await startController([
      '--dir',
      dir,
      '--listen',
      '127.0.0.1:0',
      '--workdir',
      join(workdir, 'wd'),
      '--auth-token-file',
      tokenFile,
    ]);
    const page = await fetch(`${running.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await fetch(`${running.url}/api/v1/controller`)).status).toBe(401);

    const headers = { authorization: `Bearer ${TOKEN}` };
    const answer = await waitFor(
      'a document built from a reconcile',
      async () => {
        const response = await fetch(`${running!.url}/api/v1/controller`, { headers });
        const body = (await response.json()) as { error?: string };
        return body.error === NO_SNAPSHOT ? undefined : { status: response.status, body };
      },
      20_000,
      100,
    );
    // 200 once the views land; until then their placeholder, which runs only on a snapshot.
    if (answer.status !== 200)
      expect(answer.body).toEqual({ error: 'the dashboard views are not built yet' });
    const stream = await openStream(running.url, '/api/v1/controller', TOKEN);
    expect(stream.status).toBe(200);
    const first = await stream.next(5_000);
    expect(first.event === 'doc' ? 'doc' : first.data).toEqual(
      answer.status === 200 ? 'doc' : { error: 'the dashboard views are not built yet' },
    );
    stream.close();

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  });
});
