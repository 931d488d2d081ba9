/**
 * Issue 18, items 4, 11a and 11c, played by the attacker through the built CLI: a commit with a
 * 20,000-document `dependsOn` chain (and one closed into a cycle) must be refused with positioned
 * diagnostics, quickly, never with a `RangeError`; a manifest folder with no mlform.yaml must not
 * pick up one planted above its repository; and names such as `constructor` or `__proto__` must
 * render as the strings they are. Needs `npm run build` (spawns bin/mlform.js).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chain } from './graph-fixtures.js';
import { runCli } from './cli.js';

const mlform = (cwd: string, args: string[]) => runCli(args, { cwd });

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0))
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

/** A temp folder that is a git work tree by `stat` (a `.git` folder), as a checkout is. */
function project(files: Record<string, string>, prefix = 'mlform-graph-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  mkdirSync(join(dir, '.git'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const PROJECT = 'stack: graph\nprovider: local\n';

const STACK_TRACE = /RangeError|Maximum call stack|\n\s+at [^\n]*:\d+:\d+/;

describe('a 20,000-document dependsOn chain (item 4)', () => {
  it('is refused at the link that makes it too deep, in bounded time, without a stack overflow', () => {
    const dir = project({ 'mlform.yaml': PROJECT, 'chain.yaml': chain(20_000) });
    const out = mlform(dir, ['validate', '.']);
    expect(out.all).not.toMatch(STACK_TRACE);
    expect(out.code).toBe(1);
    // m100 is the 101st resource of the chain: the first one past the limit of 100. Its document is
    // line 201 (documents and `---` alternate); dependsOn's entry starts at column 83.
    expect(out.all).toContain(
      'chain.yaml:201:83 error [dependency-chain-too-deep] RegisteredModel/m100 is at the end of a chain of 101 resources',
    );
    expect(out.all).toContain('at metadata.dependsOn[0] (RegisteredModel/m100)');
    // One error for the whole chain, not one per resource past the limit.
    expect(out.all.match(/dependency-chain-too-deep/g)).toHaveLength(1);
    expect(out.ms).toBeLessThan(45_000);
  }, 60_000);

  it('closed into a cycle: one short cycle message, as JSON too', () => {
    const dir = project({ 'mlform.yaml': PROJECT, 'chain.yaml': chain(20_000, true) });
    const out = mlform(dir, ['validate', '.', '-o', 'json']);
    expect(out.all).not.toMatch(STACK_TRACE);
    expect(out.code).toBe(1);
    const report = JSON.parse(out.stdout) as {
      diagnostics: { code: string; message: string; line?: number }[];
    };
    const cycles = report.diagnostics.filter((d) => d.code === 'dependency-cycle');
    expect(cycles).toHaveLength(1);
    // The 20,000 addresses are not listed: the ends and how many were left out.
    expect(cycles[0].message).toMatch(
      /^dependency cycle: RegisteredModel\/m0 -> RegisteredModel\/m19999 -> .* -> \.\.\. \(19993 more\) -> .* -> RegisteredModel\/m0$/,
    );
    expect(cycles[0].message.length).toBeLessThan(400);
    expect(cycles[0].line).toBe(1);
  }, 60_000);
});

describe('the project-file search (item 11a)', () => {
  const MODEL = 'apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: mine\nspec: {}\n';
  // Planted by another user in a folder above the tree (the shared temp directory, say): the
  // stack, provider and settings would be theirs.
  const PLANTED = 'stack: planted\nprovider: local\n';

  function validate(path: string) {
    const out = mlform(tmpdir(), ['validate', path, '-o', 'json']);
    expect(out.all).not.toMatch(STACK_TRACE);
    return JSON.parse(out.stdout) as { project: { stack: string; file: string } | null };
  }

  it('does not climb out of a folder that is not in a repository', () => {
    const above = mkdtempSync(join(tmpdir(), 'mlform-graph-above-'));
    dirs.push(above);
    writeFileSync(join(above, 'mlform.yaml'), PLANTED);
    mkdirSync(join(above, 'manifests'));
    writeFileSync(join(above, 'manifests', 'model.yaml'), MODEL);
    expect(validate(join(above, 'manifests')).project).toBeNull();
    expect(validate(join(above, 'manifests', 'model.yaml')).project).toBeNull();
  });

  it('does not climb above the repository root, and still finds mlform.yaml inside it', () => {
    const above = mkdtempSync(join(tmpdir(), 'mlform-graph-above-'));
    dirs.push(above);
    writeFileSync(join(above, 'mlform.yaml'), PLANTED);
    const repo = join(above, 'repo');
    mkdirSync(join(repo, '.git'), { recursive: true });
    mkdirSync(join(repo, 'ml', 'models'), { recursive: true });
    writeFileSync(join(repo, 'ml', 'models', 'model.yaml'), MODEL);
    expect(validate(join(repo, 'ml', 'models')).project).toBeNull();

    // The repository's own project file, two folders up: found, as before.
    writeFileSync(join(repo, 'ml', 'mlform.yaml'), 'stack: mine\nprovider: local\n');
    expect(validate(join(repo, 'ml', 'models')).project).toMatchObject({ stack: 'mine' });
  });
});
