/**
 * `mlform ui` through the built CLI on a tiny local project: it prints its address, serves the
 * dashboard from its own observations (edits show without a restart), refuses an address beyond
 * loopback without a token, and stops cleanly on SIGINT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ControllerStatus } from '../../../controller/loop/status-schema.js';
import { modelManifest, modelsProject, waitFor } from '../../controller/helpers.js';
import { runCli } from '../../e2e/cli.js';

let dir: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  dir = await modelsProject('mlform-ui-', 'uitest', ['alpha']);
});

afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

/** Starts `mlform ui`; resolves with its URL once it printed the line. */
function startUi(
  args: string[],
): Promise<{ url: string; exit: Promise<number | null>; output: () => string }> {
  const proc = spawn(process.execPath, ['bin/mlform.js', 'ui', ...args], {
    env: { ...process.env, NO_COLOR: '1', CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^dashboard: (http:\/\/\S+\/) \(Ctrl-C to stop\)$/m.exec(out);
      if (match) resolve({ url: match[1], exit, output: () => out });
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    void exit.then((code) => reject(new Error(`mlform ui exited ${code}: ${out}`)));
  });
}

const status = async (url: string) => (await (await fetch(`${url}api/status`)).json()) as ControllerStatus;

describe('mlform ui', () => {
  it('serves the dashboard of a local project, re-reading the manifests, until SIGINT', async () => {
    const ui = await startUi(['-f', dir, '--listen', '127.0.0.1:0', '--refresh', '200ms']);
    expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(ui.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    await waitFor(
      'the first observation',
      async () => (await status(ui.url)).resources.length === 1,
      20_000,
      100,
    );
    expect((await status(ui.url)).resources[0]).toMatchObject({
      address: 'RegisteredModel/alpha',
      health: 'Missing',
    });
    const controller = await fetch(`${ui.url}api/v1/controller`);
    // 200 once the views land; until then the placeholder's 503 (never "no snapshot yet").
    if (controller.status !== 200) {
      expect(controller.status).toBe(503);
      expect(await controller.json()).toEqual({ error: 'the dashboard views are not built yet' });
    }
    await writeFile(join(dir, 'beta.yaml'), modelManifest('beta'));
    await waitFor('the edit to show', async () => (await status(ui.url)).resources.length === 2, 20_000, 100);
    child!.kill('SIGINT');
    expect(await ui.exit).toBe(0);
  });

  it('refuses an address beyond loopback without a token, and manifests that do not load', () => {
    const open = runCli(['ui', '-f', dir, '--listen', '0.0.0.0:0'], 20_000);
    expect(open.code).toBe(1);
    expect(open.out).toContain('reachable beyond this host');
    expect(open.out).toContain('--auth-token-file');
    const badRefresh = runCli(['ui', '-f', dir, '--refresh', 'soon'], 20_000);
    expect(badRefresh.code).toBe(1);
    expect(badRefresh.out).toContain('--refresh "soon"');
    const noProject = runCli(['ui', '-f', join(dir, 'nowhere')], 20_000);
    expect(noProject.code).toBe(1);
  });
});
