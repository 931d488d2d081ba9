/**
 * Cost in the plan through the CLI on `provider: gcp`, against test/fakes/gcp: `mlform plan`
 * prints the estimate and its totals, `-o json` carries the same figures, and a budget under the
 * estimate makes the plan an error at the budget's line. Needs `dist/` (`npm run build`).
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENV } from './cli.js';
import { startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';
import { BUDGET_LINE, COST_PROJECT, TOTAL, costManifests } from '../engine/cost-stack.js';

const REPO = resolve('.');
let root: string;
let fake: FakeGcp;

function mlform(...args: string[]) {
  return new Promise<{ code: number | null; stdout: string; out: string }>((done) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/mlform.js'), ...args], {
      env: { ...process.env, ...CLI_ENV, MLFORM_GCP_API_ENDPOINT: fake.url, MLFORM_GCP_RETRY_BASE_MS: '20' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => done({ code, stdout, out: stdout + stderr }));
  });
}

beforeAll(async () => {
  fake = await startFakeGcp();
  root = await mkdtemp(join(tmpdir(), 'mlform-gcp-cost-'));
  execFileSync('git', ['init', '-q', root]);
  await writeFile(join(root, 'stack.yaml'), costManifests());
});

afterAll(async () => {
  await fake?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('mlform plan shows what the changes cost (gcp)', () => {
  it('prints the estimate and totals, the same in -o json, and refuses a plan over budget', async () => {
    await writeFile(join(root, 'mlform.yaml'), COST_PROJECT);
    const text = await mlform('plan', root);
    expect(text.out).toContain('Cost estimate (USD, list prices of');
    expect(text.out).toMatch(/TrainingRun\/train +once +\$2\.27-\$8\.49 +2h00m \(expectedDuration\)/);
    expect(text.out).toMatch(/DeployedEndpoint\/api +monthly +\$304\.85 /);
    expect(text.out).toMatch(/Schedule\/weekly +monthly +\$9\.94-\$36\.99 /);
    expect(text.out).toContain(TOTAL);
    expect(text.code).toBe(0);

    const json = await mlform('plan', '-o', 'json', root);
    const doc = JSON.parse(json.stdout) as { cost: { total: Record<string, { low: number; high: number }> } };
    expect(doc.cost.total.once).toEqual({ low: 2.2652, high: 8.4906 });
    expect(doc.cost.total.monthly.low).toBeCloseTo(314.79, 2);

    await writeFile(join(root, 'mlform.yaml'), `${COST_PROJECT}budget:\n  perApply: 5\n`);
    const over = await mlform('plan', root);
    expect(over.out).toContain(`mlform.yaml:${BUDGET_LINE + 1}:`);
    expect(over.out).toContain('over budget.perApply ($5): TrainingRun/train $2.27-$8.49');
    expect(over.code).toBe(1);
  });
});
