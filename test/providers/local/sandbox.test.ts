/**
 * providers/local/sandbox.ts without running anything: the bubblewrap arguments (links resolved,
 * one rule per path, deeper rules after shallower ones), what the host hides, and the operator's
 * switches from the environment and the controller's flags.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bwrapArgs,
  commandPolicyEnv,
  commandPolicyFromEnv,
  commandPolicyWithFlags,
  hostSecrets,
  sandboxLaunch,
  type SandboxRequest,
} from '../../../providers/local/sandbox.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sandbox-args-'));
  await mkdir(join(root, 'tree', '.mlform', 'runs', 'a', 'artifact'), { recursive: true });
  await mkdir(join(root, 'real-state'), { recursive: true });
  await symlink(join(root, 'real-state'), join(root, 'state-link'));
  await writeFile(join(root, 'key.json'), '{}');
});
afterAll(() => rm(root, { recursive: true, force: true }));

const request = (over: Partial<SandboxRequest> = {}): SandboxRequest => ({
  argv: ['python3', 'train.py'],
  cwd: join(root, 'tree'),
  readOnly: [join(root, 'tree')],
  writable: [join(root, 'tree', '.mlform', 'runs', 'a', 'artifact')],
  hidden: [join(root, 'tree', '.mlform')],
  env: { PATH: '/usr/bin' },
  network: false,
  what: 'TrainingRun/a',
  ...over,
});

/** `[flag, path]` pairs of the mounts after the fixed ones. */
function mounts(args: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--unshare-all') break;
    if (args[i] === '--tmpfs') out.push(['tmpfs', args[++i]]);
    else if (args[i] === '--ro-bind' || args[i] === '--bind') {
      out.push([args[i] === '--bind' ? 'rw' : args[i + 1] === '/dev/null' ? 'null' : 'ro', args[i + 2]]);
      i += 2;
    } else if (args[i] === '--dev' || args[i] === '--proc') i++;
  }
  return out.slice(2);
}

describe('bwrapArgs', () => {
  it('mounts shallow rules first, so the output is writable inside the hidden state inside the read-only tree', () => {
    expect(mounts(bwrapArgs(request()))).toEqual([
      ['ro', join(root, 'tree')],
      ['tmpfs', join(root, 'tree', '.mlform')],
      ['rw', join(root, 'tree', '.mlform', 'runs', 'a', 'artifact')],
    ]);
  });

  it('resolves links (bwrap cannot mount onto one), hides files with /dev/null, skips what is missing', () => {
    const args = bwrapArgs(
      request({
        hidden: [join(root, 'state-link'), join(root, 'key.json'), join(root, 'missing')],
        writable: [],
      }),
    );
    expect(mounts(args)).toEqual([
      ['null', join(root, 'key.json')],
      ['tmpfs', join(root, 'real-state')],
      ['ro', join(root, 'tree')],
    ]);
  });

  it('keeps the most visible rule for a path named twice, and never mounts over /', () => {
    const tree = join(root, 'tree');
    expect(mounts(bwrapArgs(request({ hidden: [tree, '/'], readOnly: [tree], writable: [tree] })))).toEqual([
      ['rw', tree],
    ]);
  });

  it('unshares everything, drops capabilities; the network only when asked; no env on the command line', () => {
    const args = bwrapArgs(request({ env: { API_TOKEN: 's3cret-value' } }));
    expect(args).toEqual(
      expect.arrayContaining(['--unshare-all', '--cap-drop', 'ALL', '--die-with-parent', '--new-session']),
    );
    // bwrap's argv is readable by every local user in /proc/<pid>/cmdline: no secret value there.
    expect(args.join(' ')).not.toContain('s3cret-value');
    expect(args).not.toContain('--setenv');
    expect(args).not.toContain('--share-net');
    expect(bwrapArgs(request({ network: true }))).toContain('--share-net');
    expect(args.slice(-4)).toEqual([join(root, 'tree'), '--', 'python3', 'train.py']);
  });
});

describe('the host and the operator', () => {
  it('hides homes, runtime folders, host keys and the credentials the environment names', () => {
    const hidden = hostSecrets({
      HOME: '/home/op',
      GOOGLE_APPLICATION_CREDENTIALS: '/srv/key.json',
      KUBECONFIG: 'relative',
    });
    expect(hidden).toEqual(
      expect.arrayContaining(['/home', '/root', '/run', '/etc/ssh', '/home/op', '/srv/key.json']),
    );
    expect(hidden).not.toContain('relative');
  });

  it('reads the switches from the environment; controller flags only add', () => {
    expect(commandPolicyFromEnv({ MLFORM_ALLOW_COMMANDS: 'true', MLFORM_BWRAP: '/opt/bwrap' })).toEqual({
      allowCommands: true,
      allowNetwork: false,
      allowUnsandboxed: false,
      bwrapPath: '/opt/bwrap',
    });
    const policy = commandPolicyWithFlags(
      { allowCommands: true, allowNetwork: true },
      { MLFORM_ALLOW_UNSANDBOXED: '1' },
    );
    expect(policy).toEqual({ allowCommands: true, allowNetwork: true, allowUnsandboxed: true });
    expect(commandPolicyFromEnv(commandPolicyEnv(policy))).toEqual(policy);
    expect(commandPolicyWithFlags({}, {})).toEqual({
      allowCommands: false,
      allowNetwork: false,
      allowUnsandboxed: false,
    });
  });

  it('refuses without the policy, and where bwrap is missing unless unconfined is allowed', () => {
    const allowed = { allowCommands: true, allowNetwork: false, allowUnsandboxed: false };
    expect(sandboxLaunch({ ...allowed, allowCommands: false }, request())).toMatchObject({
      ok: false,
      code: 'command-not-allowed',
    });
    const missing = { ...allowed, bwrapPath: join(root, 'no-bwrap') };
    expect(sandboxLaunch(missing, request())).toMatchObject({ ok: false, code: 'sandbox-missing' });
    expect(sandboxLaunch({ ...missing, allowUnsandboxed: true }, request())).toMatchObject({
      ok: true,
      sandboxed: false,
      command: 'python3',
      env: { PATH: '/usr/bin' },
    });
  });
});
