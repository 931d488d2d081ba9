import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTreeRoot, isInside, realLocation } from '../../manifests/tree-root.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'mlform-tree-root-')));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('tree root', () => {
  it('is the nearest folder with a .git entry (folder or worktree file), else the folder itself', async () => {
    mkdirSync(join(base, 'clone', '.git'), { recursive: true });
    mkdirSync(join(base, 'clone', 'a', 'b'), { recursive: true });
    mkdirSync(join(base, 'worktree', 'x'), { recursive: true });
    writeFileSync(join(base, 'worktree', '.git'), 'gitdir: /elsewhere\n');
    mkdirSync(join(base, 'plain', 'p'), { recursive: true });
    expect(await findTreeRoot(join(base, 'clone', 'a', 'b'))).toBe(join(base, 'clone'));
    expect(await findTreeRoot(join(base, 'clone'))).toBe(join(base, 'clone'));
    expect(await findTreeRoot(join(base, 'worktree', 'x'))).toBe(join(base, 'worktree'));
    expect(await findTreeRoot(join(base, 'plain', 'p'))).toBe(join(base, 'plain', 'p'));
  });

  it('compares whole path segments', () => {
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b/c.csv', '/a/b')).toBe(true);
    expect(isInside('/a/bc/d.csv', '/a/b')).toBe(false);
    expect(isInside('/a', '/a/b')).toBe(false);
    expect(isInside('/a/b/..x/y', '/a/b')).toBe(true);
    expect(isInside('/etc/passwd', '/')).toBe(true);
  });

  it('locates missing files through their deepest existing folder, and dangling links where they point', async () => {
    const tree = join(base, 'links');
    mkdirSync(join(tree, 'real'), { recursive: true });
    symlinkSync(join(tree, 'real'), join(tree, 'via'));
    symlinkSync('/nowhere/target.csv', join(tree, 'dangling.csv'));
    symlinkSync(join(tree, 'loop-b'), join(tree, 'loop-a'));
    symlinkSync(join(tree, 'loop-a'), join(tree, 'loop-b'));
    expect(await realLocation(join(tree, 'via', 'new', 'file.csv'))).toBe(
      join(tree, 'real', 'new', 'file.csv'),
    );
    expect(await realLocation(join(tree, 'real', '..', '..', 'x.csv'))).toBe(join(base, 'x.csv'));
    expect(await realLocation(join(tree, 'dangling.csv'))).toBe('/nowhere/target.csv');
    // A loop cannot be opened; it ends somewhere finite, inside the tree where it was written.
    expect(isInside(await realLocation(join(tree, 'loop-a')), tree)).toBe(true);
  });
});
