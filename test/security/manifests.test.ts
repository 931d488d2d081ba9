/**
 * Issue 11, points 3-5, played by the attacker through the built CLI: a commit names data outside
 * its repository, links a manifest or mlform.yaml to a file outside, or ships a YAML alias bomb
 * with non-ASCII anchor names. Each temp project is a git work tree (`git init`), as a checkout is.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

/** A line that must never be printed: what an attacker wants to read through the loader. */
const SECRET = 'TOP-SECRET-first-line-7f3a9c';

const mlform = (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(args, { cwd, env, timeoutMs: 30_000 });

const trainingRun = (uri: string) =>
  [
    'apiVersion: mlform/v1',
    'kind: TrainingRun',
    'metadata:',
    '  name: leak',
    'spec:',
    '  trainer:',
    '    builtin:',
    '      task: classification',
    '      data:',
    `        uri: ${uri}`,
    '        target: label',
    '      network: {type: mlp, layers: [4]}',
    '      hyperparameters: {epochs: 1}',
    '',
  ].join('\n');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0))
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

/**
 * `<root>/repo` (a git work tree with mlform.yaml) beside `<root>/outside` (a folder with a secret
 * CSV and a secret text file): what the host can read but the commit must not.
 */
function setup(files: Record<string, string> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'mlform-sec-manifests-'));
  dirs.push(root);
  const repo = join(root, 'repo');
  const outside = join(root, 'outside');
  mkdirSync(repo);
  mkdirSync(outside);
  expect(spawnSync('git', ['init', '-q', repo]).status).toBe(0);
  writeFileSync(join(outside, 'secret.csv'), `label,x\n${SECRET},1\n`);
  writeFileSync(join(outside, 'secret.txt'), `${SECRET}\nsecond line\n`);
  writeFileSync(join(repo, 'mlform.yaml'), 'stack: attack\nprovider: local\n');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(repo, name, '..'), { recursive: true });
    writeFileSync(join(repo, name), text);
  }
  return { root, repo, outside };
}

describe('data stays inside the tree (point 3)', () => {
  it('refuses an absolute file:// URI at its line, naming the folder, for validate and plan', () => {
    const { repo, outside } = setup();
    writeFileSync(join(repo, 'run.yaml'), trainingRun(`file://${join(outside, 'secret.csv')}`));
    for (const command of ['validate', 'plan']) {
      const r = mlform(repo, [command]);
      expect(r.code).toBe(1);
      expect(r.all).toContain('run.yaml:10:14 error [data-outside-tree]');
      expect(r.all).toContain(`resolves to ${outside}, outside the repository (${repo})`);
      expect(r.all).toContain(
        'hint: move the data inside the repository, or have the operator allow its folder with --allow-data-root',
      );
      expect(r.all).not.toContain(SECRET);
    }
  });

  it('refuses file:///etc/... (a file every host has)', () => {
    const { repo } = setup({ 'run.yaml': trainingRun('file:///etc/passwd') });
    const r = mlform(repo, ['validate']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      '[data-outside-tree] file:///etc/passwd resolves to /etc, outside the repository',
    );
  });

  it('refuses a ../ escape, even to a file that does not exist yet', () => {
    const { repo } = setup({ 'ml/run.yaml': trainingRun('file://../../outside/not-there-yet.csv') });
    const r = mlform(repo, ['plan']);
    expect(r.code).toBe(1);
    expect(r.all).toContain('ml/run.yaml:10:14 error [data-outside-tree]');
  });

  it('refuses a symlink in the tree that points out (a linked file, and a linked folder)', () => {
    const { repo, outside } = setup({ 'a/run.yaml': trainingRun('file://data.csv') });
    symlinkSync(join(outside, 'secret.csv'), join(repo, 'a', 'data.csv'));
    writeFileSync(join(repo, 'b.yaml'), trainingRun('file://linked/secret.csv').replace('leak', 'leak2'));
    symlinkSync(outside, join(repo, 'linked'));
    // A dangling link counts where it points: the file may be there by the time a run reads it.
    writeFileSync(join(repo, 'c.yaml'), trainingRun('file://later.csv').replace('leak', 'leak3'));
    symlinkSync(join(outside, 'later.csv'), join(repo, 'later.csv'));
    const r = mlform(repo, ['validate']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `c.yaml:10:14 error [data-outside-tree] file://later.csv resolves to ${outside}`,
    );
    expect(r.stdout).toContain('a/run.yaml:10:14 error [data-outside-tree] file://data.csv resolves to');
    expect(r.stdout).toContain('b.yaml:10:14 error [data-outside-tree] file://linked/secret.csv resolves to');
    expect(r.stdout).not.toContain(SECRET);
  });

  it('accepts data inside the tree, also through a link that stays inside, and gs://', () => {
    const { repo } = setup({
      'data/ok.csv': 'label,x\na,1\n',
      'ml/run.yaml': trainingRun('file://../data/ok.csv'),
      'ml/linked.yaml': trainingRun('file://inside.csv').replace('leak', 'linked'),
      'ml/cloud.yaml': trainingRun('gs://bucket/train.csv').replace('leak', 'cloud'),
    });
    symlinkSync(join(repo, 'data', 'ok.csv'), join(repo, 'ml', 'inside.csv'));
    const r = mlform(repo, ['validate']);
    expect(r.stdout).toContain('✓ 3 resources in 3 files valid');
    expect(r.code).toBe(0);
  });

  it('lets the operator allow an outside folder with --allow-data-root or MLFORM_ALLOW_DATA_ROOTS', () => {
    const { repo, outside } = setup();
    writeFileSync(join(repo, 'run.yaml'), trainingRun(`file://${join(outside, 'secret.csv')}`));
    expect(mlform(repo, ['validate']).code).toBe(1);
    expect(mlform(repo, ['validate', '--allow-data-root', outside]).code).toBe(0);
    expect(mlform(repo, ['validate'], { MLFORM_ALLOW_DATA_ROOTS: outside }).code).toBe(0);
    // A sibling of the allowed folder is still outside.
    expect(mlform(repo, ['validate', '--allow-data-root', join(outside, 'sub')]).code).toBe(1);
  });

  it('takes the nearest folder with .git as the tree root, so the quickstart in a clone keeps ../data', () => {
    const r = mlform(process.cwd(), ['validate', 'examples/quickstart']);
    expect(r.code).toBe(0);
    // Without a .git above mlform.yaml, the tree is mlform.yaml's folder.
    const root = mkdtempSync(join(tmpdir(), 'mlform-sec-nogit-'));
    dirs.push(root);
    mkdirSync(join(root, 'project'));
    writeFileSync(join(root, 'data.csv'), 'label,x\na,1\n');
    writeFileSync(join(root, 'project', 'mlform.yaml'), 'stack: s\nprovider: local\n');
    writeFileSync(join(root, 'project', 'run.yaml'), trainingRun('file://../data.csv'));
    const outside = mlform(join(root, 'project'), ['validate']);
    expect(outside.code).toBe(1);
    expect(outside.stdout).toContain(`outside the repository (${join(root, 'project')})`);
  });

  it('refuses at run time too: mlform train opens no data outside its roots', () => {
    const { repo, outside } = setup();
    const manifest = JSON.stringify({
      apiVersion: 'mlform/v1',
      kind: 'TrainingRun',
      metadata: { name: 'leak' },
      spec: {
        trainer: {
          builtin: {
            task: 'classification',
            data: { uri: `file://${join(outside, 'secret.csv')}`, target: 'label' },
            network: { type: 'mlp', layers: [4] },
            hyperparameters: { epochs: 1 },
          },
        },
      },
    });
    const out = join(repo, 'out');
    // As the local provider launches it: the roots come from MLFORM_DATA_ROOTS.
    const launched = mlform(repo, ['train', '--spec-json', manifest, '--out', out], {
      MLFORM_DATA_ROOTS: JSON.stringify([repo]),
    });
    expect(launched.code).toBe(1);
    expect(launched.stderr).toContain('[data-outside-tree]');
    expect(launched.stderr).toContain(`resolves to a file in ${outside}`);
    expect(launched.all).not.toContain(SECRET);
    // By hand, without the variable: the tree root of the working directory.
    expect(mlform(repo, ['train', '--spec-json', manifest, '--out', out]).code).toBe(1);
    // A launcher's value that is not a JSON list of absolute folders fails closed.
    const garbled = mlform(repo, ['train', '--spec-json', manifest, '--out', out], {
      MLFORM_DATA_ROOTS: '/',
    });
    expect(garbled.code).toBe(1);
    expect(garbled.stderr).toContain('MLFORM_DATA_ROOTS must be a JSON array of absolute folder paths');
  });
});

describe('manifest files stay inside the tree (point 4)', () => {
  it('never reads a symlinked mlform.yaml that points out, nor prints its first line', () => {
    const { repo, outside } = setup({ 'run.yaml': trainingRun('file://data.csv') });
    rmSync(join(repo, 'mlform.yaml'));
    symlinkSync(join(outside, 'secret.txt'), join(repo, 'mlform.yaml'));
    for (const args of [['validate'], ['plan'], ['validate', 'mlform.yaml'], ['plan', 'run.yaml']]) {
      const r = mlform(repo, args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.all).toContain(
        `mlform.yaml error [symlink-outside-tree] mlform.yaml is a symbolic link to a file in ${outside}, outside the manifest tree`,
      );
      expect(r.all).not.toContain(SECRET);
      expect(r.all).not.toContain('second line');
    }
  });

  it('finds the symlinked mlform.yaml above a sub-folder and still refuses it', () => {
    const { repo, outside } = setup({ 'ml/run.yaml': trainingRun('file://data.csv') });
    rmSync(join(repo, 'mlform.yaml'));
    symlinkSync(join(outside, 'secret.txt'), join(repo, 'mlform.yaml'));
    const r = mlform(join(repo, 'ml'), ['plan']);
    expect(r.code).toBe(1);
    expect(r.all).toContain('[symlink-outside-tree]');
    expect(r.all).not.toContain(SECRET);
  });

  it('refuses a manifest symlink found by walking or named explicitly, and reads one that stays inside', () => {
    const { repo, outside } = setup({
      'real/model.yaml': 'apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: m}\nspec: {}\n',
    });
    symlinkSync(join(outside, 'secret.txt'), join(repo, 'evil.yaml'));
    symlinkSync(join(repo, 'real', 'model.yaml'), join(repo, 'alias.yaml'));
    const walked = mlform(repo, ['validate', '.']);
    expect(walked.code).toBe(1);
    expect(walked.stdout).toContain('evil.yaml error [symlink-outside-tree]');
    expect(walked.stdout).not.toContain(SECRET);
    // The inside link is the same file as real/model.yaml: read once, no duplicate-name error.
    expect(walked.stdout).not.toContain('duplicate-name');
    expect(walked.stdout).toContain('✗ 1 error in 1 file');
    const named = mlform(repo, ['validate', 'evil.yaml']);
    expect(named.code).toBe(1);
    expect(named.stdout).toContain('evil.yaml error [symlink-outside-tree]');
    expect(named.stdout).not.toContain(SECRET);
    const inside = mlform(repo, ['validate', 'alias.yaml']);
    expect(inside.code).toBe(0);
  });
});

describe('one safe YAML path (point 5)', () => {
  /** Nine levels of nine aliases to Unicode-named anchors: 9^9 (387 M) strings when expanded. */
  function unicodeBomb(names: string[]): string {
    const lines = [
      'apiVersion: mlform/v1',
      'kind: RegisteredModel',
      'metadata:',
      '  name: bomb',
      '  labels:',
    ];
    lines.push(`    l0: &${names[0]} [${Array(9).fill('"lol"').join(', ')}]`);
    for (let i = 1; i < names.length; i++) {
      lines.push(
        `    l${i}: &${names[i]} [${Array(9)
          .fill(`*${names[i - 1]}`)
          .join(', ')}]`,
      );
    }
    lines.push('spec: {}', '');
    return lines.join('\n');
  }

  for (const [label, names] of [
    ['accented', ['é0', 'é1', 'é2', 'é3', 'é4', 'é5', 'é6', 'é7', 'é8']],
    ['CJK, astral and combining', ['笑', '😂', 'a\u0301', '𝔞', 'ζ', 'ж', '🙈x', 'ü', '\u{1F600}\u{1F3FD}']],
  ] as const) {
    it(`stops an alias bomb with ${label} anchor names: exit 1, a positioned diagnostic, no stack trace`, () => {
      const { repo } = setup({ 'bomb.yaml': unicodeBomb([...names]) });
      for (const command of ['validate', 'plan']) {
        const r = mlform(repo, [command]);
        expect(r.code).toBe(1);
        expect(r.all).toContain('bomb.yaml:7:');
        expect(r.all).toContain(
          'error [yaml-alias-expansion] YAML: aliases expand to too many nodes (over 100)',
        );
        expect(r.all).not.toMatch(/RangeError|Invalid string length|\n\s+at .+:\d+:\d+\)?\n/);
        expect(r.ms).toBeLessThan(10_000);
      }
    });
  }

  it('caps nesting depth with a positioned diagnostic, flow or block, far below the stack limit', () => {
    const flow = `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: deep}\nspec: {description: ${'['.repeat(200_000)}${']'.repeat(200_000)}}\n`;
    const block = `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: deep}\nspec:\n  x:\n${'- '.repeat(100_000)}1\n`;
    const { repo } = setup({ 'flow.yaml': flow, 'block.yaml': block });
    const r = mlform(repo, ['validate']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('flow.yaml:4:');
    expect(r.stdout).toContain('block.yaml:6:');
    expect(
      r.stdout.match(/error \[yaml-too-deep\] YAML: collections nest more than 64 levels deep/g),
    ).toHaveLength(2);
    expect(r.all).not.toMatch(/RangeError|Maximum call stack/);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('refuses a self-referencing alias (a cycle) instead of recursing forever later', () => {
    const { repo } = setup({
      'cycle.yaml':
        'apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: c\n  labels: &ß {a: *ß}\nspec: {}\n',
    });
    const r = mlform(repo, ['validate']);
    expect(r.code).toBe(1);
    expect(r.all).toMatch(/error \[yaml-(too-deep|unresolved-alias|alias-expansion)\]/);
    expect(r.all).not.toMatch(/RangeError|Maximum call stack/);
  });
});
