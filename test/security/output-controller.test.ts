/**
 * Attack (issue 11, point 12) on the controller's log: a commit whose manifest has a key holding
 * a bidi override, a C1 CSI and an erase-line sequence does not load, and the controller logs the
 * diagnostics, which name the key. JSON escapes ESC, but on b5d9ab0 the C1 and bidi characters
 * reached stdout raw (and so `kubectl logs` in a terminal). Now every log line is free of them and
 * still parses to the same value.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createQuickstartRepo,
  followRepoArgs,
  getStatus,
  killQuietly,
  startController,
  waitFor,
  type RunningController,
  type TestRepo,
} from '../controller/helpers.js';

let repo: TestRepo;
let controller: RunningController | undefined;

const KEY = 'desc\u202eription\u009b2K\u001b[2K';

beforeAll(async () => {
  repo = await createQuickstartRepo('mlform-output-ctl-');
  for (const file of ['training.yaml', 'schedule.yaml', 'endpoint.yaml']) {
    await rm(join(repo.work, 'quickstart', file));
  }
});

afterAll(async () => {
  if (controller) killQuietly(controller.pid);
  await controller?.exited;
  await rm(repo.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

it('the log of a commit that does not load carries no raw control character', async () => {
  await repo.commit('the model', {});
  controller = await startController([...followRepoArgs(repo, 'checkout'), '--poll', '1s']);
  let raw = '';
  controller.child.stdout?.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
  const url = controller.url;
  const model = await repo.read('quickstart/model.yaml');
  const bad = await repo.commit('a key with controls', {
    'quickstart/model.yaml': model.replace(
      'spec:\n',
      'spec:\n  "desc\\u202Eription\\u009B2K\\e[2K": spoofed\n',
    ),
  });
  const status = await waitFor('the bad commit in /api/status', async () => {
    const s = await getStatus(url);
    return s.controller.badCommit?.commit === bad ? s : undefined;
  });
  // The API keeps the exact value (JSON), for programs; the log line is where it was raw.
  expect(status.controller.badCommit?.diagnostics.map((d) => d.message).join('\n')).toContain(KEY);
  await waitFor('the log line', async () => raw.includes('do not load'), 10_000);
  // eslint-disable-next-line no-control-regex -- looking for control characters is the test
  expect(raw).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  const line = raw.split('\n').find((l) => l.includes('do not load')) ?? '';
  // Still valid JSON, holding the key exactly.
  expect(JSON.stringify((JSON.parse(line) as { diagnostics: string[] }).diagnostics)).toContain(
    JSON.stringify(KEY).slice(1, -1),
  );
}, 60_000);
