/**
 * Issue 18, item 11c: alias, resource, label and annotation names that are JavaScript built-in
 * property names (`constructor`, `toString`, `__proto__`, `hasOwnProperty`, `valueOf`) are plain
 * strings. Played through the built CLI (`apply`, then `plan` as text and `-o json` after a commit
 * adds such annotations), and, for an alias of a model that has versions (which needs a finished
 * training on the CLI), through `plan()` and the same text and JSON renderers the CLI uses.
 * Needs `npm run build` (spawns bin/mlform.js).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { plan } from '../../controller/engine/plan.js';
import { planJson } from '../../controller/ui/plan-json.js';
import { renderPlanText } from '../../controller/ui/plan-text.js';
import { createStyle } from '../../controller/ui/style.js';
import { loadManifests } from '../../manifests/load.js';
import { converged, NOW, version } from '../engine/helpers.js';
import { runCli } from './cli.js';

const BUILT_INS = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];
const NATIVE = /function|native code|\[object Object\]/;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0))
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlform-graph-names-'));
  dirs.push(dir);
  mkdirSync(join(dir, '.git'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const mlform = (cwd: string, args: string[]) => runCli(args, { cwd, timeoutMs: 30_000 });

const model = (annotations: string) =>
  [
    'apiVersion: mlform/v1',
    'kind: RegisteredModel',
    'metadata:',
    '  name: constructor',
    `  labels: {${BUILT_INS.map((n, i) => `${n}: l${i}`).join(', ')}}`,
    `  annotations: ${annotations}`,
    'spec:',
    '  aliases:',
    '    constructor: {policy: latest}',
    '',
  ].join('\n');

interface JsonField {
  path: string;
  before: unknown;
  after: unknown;
}

describe('built-in property names as names (item 11c)', () => {
  it('an annotation named constructor that a commit adds is a change, in plan text and JSON', () => {
    const dir = tree({ 'mlform.yaml': 'stack: names\nprovider: local\n', 'model.yaml': model('{}') });
    const state = ['--state-dir', join(dir, '..', `${dir.split('/').pop()}-state`)];
    dirs.push(state[1]);
    const applied = mlform(dir, ['apply', '.', '--auto-approve', ...state]);
    expect(applied.all).toContain('Apply complete');

    // The labels are in the created model as written, __proto__ included.
    const again = mlform(dir, ['plan', '.', '-o', 'json', ...state]);
    expect(JSON.parse(again.stdout)).toMatchObject({ hasChanges: false });

    writeFileSync(join(dir, 'model.yaml'), model('{constructor: x, __proto__: y, valueOf: z}'));
    const text = mlform(dir, ['plan', '.', ...state]);
    expect(text.all).not.toMatch(NATIVE);
    expect(text.all).toContain('~ RegisteredModel/constructor');
    expect(text.all).toContain('+ metadata.annotations.constructor: "x"');
    expect(text.all).toContain('+ metadata.annotations.__proto__: "y"');
    expect(text.all).toContain('+ metadata.annotations.valueOf: "z"');
    expect(text.all).toContain('Plan: 0 to add, 1 to change, 0 to destroy.');

    const json = JSON.parse(mlform(dir, ['plan', '.', '-o', 'json', ...state]).stdout) as {
      changes: { address: string; action: string; fields: JsonField[]; after: { labels: object } }[];
    };
    const update = json.changes.find((c) => c.address === 'RegisteredModel/constructor');
    expect(update?.action).toBe('update');
    expect(update?.fields).toEqual([
      { path: 'metadata.annotations.__proto__', before: null, after: 'y' },
      { path: 'metadata.annotations.constructor', before: null, after: 'x' },
      { path: 'metadata.annotations.valueOf', before: null, after: 'z' },
    ]);
    // Every label, __proto__ included, is an own string member of the JSON.
    expect(Object.entries(update?.after.labels ?? {})).toEqual(
      expect.arrayContaining(BUILT_INS.map((n, i) => [n, `l${i}`])),
    );
  }, 60_000);

  it('an alias named constructor, absent from the registry, is promoted from "none", not from a function', async () => {
    const dir = tree({ 'mlform.yaml': 'stack: names\nprovider: local\n', 'model.yaml': model('{}') });
    const { desired, diagnostics } = await loadManifests([dir]);
    expect(diagnostics).toEqual([]);
    const observed = converged(desired, { versions: { constructor: [version(1), version(2)] } });
    const p = plan(desired, observed, { now: NOW });
    const promote = p.changes.find((c) => c.address === 'RegisteredModel/constructor/aliases/constructor');
    expect(promote).toMatchObject({ action: 'promote', before: { version: null }, after: { version: 2 } });

    const text = renderPlanText(p, { style: createStyle(false) });
    expect(text).not.toMatch(NATIVE);
    expect(text).toContain('~ alias constructor/constructor (none) -> v2');
    const json = JSON.stringify(planJson(p));
    expect(json).not.toMatch(NATIVE);
    expect(JSON.parse(json)).toMatchObject({ summary: { promote: 1 } });

    // Once the registry has it, the alias is converged: no promote, no change at all.
    const settled = converged(desired, {
      versions: { constructor: [version(1), version(2)] },
      aliases: { constructor: { constructor: 2 } },
    });
    expect(plan(desired, settled, { now: NOW }).changes.filter((c) => c.action !== 'noop')).toEqual([]);
  });
});
