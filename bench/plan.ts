/**
 * Plans over 1,000 and 10,000 manifests on the local provider, trainings excluded (models and
 * endpoints-free schedules would need runs): a full-create plan against an empty state, and a
 * no-op plan after applying it. Each measurement is a fresh process on the compiled build.
 * Run: npm run bench -- plan
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

interface Sample {
  loadMs: number;
  observeMs: number;
  planMs: number;
  totalMs: number;
  changes: number;
  maxRssMb: number;
}

const ROOT = join(import.meta.dirname, '..');
const SIZES = (process.env.BENCH_PLAN_SIZES ?? '1000,10000').split(',').map(Number);

async function writeModels(dir: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'mlform.yaml'), 'stack: bench\nprovider: local\n');
  for (let i = 0; i < count; i += 500) {
    const batch = [];
    for (let k = i; k < Math.min(count, i + 500); k++) {
      batch.push(
        writeFile(
          join(dir, `model-${k}.yaml`),
          `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: model-${k}, labels: {team: t${k % 7}}}\nspec:\n  description: model ${k}\n  gate: {metric: val_mae, max: 4, beatBaseline: true}\n  aliases: {champion: {policy: best, metric: val_mae}}\n`,
        ),
      );
    }
    await Promise.all(batch);
  }
}

function measure(dir: string): Sample {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, 'plan-worker.mjs'), dir], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`plan worker failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Sample;
}

export async function runPlanBench(): Promise<string> {
  const rows: string[] = [];
  for (const size of SIZES) {
    const dir = await mkdtemp(join(tmpdir(), 'mlform-plan-bench-'));
    try {
      await writeModels(dir, size);
      const create = measure(dir);
      // Output ignored: 10,000 changes print more than spawnSync buffers.
      const applied = spawnSync(
        process.execPath,
        [join(ROOT, 'bin', 'mlform.js'), 'apply', '-y', '--no-wait', dir],
        {
          encoding: 'utf8',
          env: { ...process.env, CI: 'true', NO_COLOR: '1' },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      if (applied.status !== 0) throw new Error(`apply failed (${applied.status}): ${applied.stderr}`);
      const noop = measure(dir);
      if (noop.changes !== 0) throw new Error(`expected a no-op plan, got ${noop.changes} changes`);
      const row = (label: string, s: Sample) =>
        `| ${size.toLocaleString('en')} | ${label} | ${s.changes} | ${s.loadMs.toFixed(0)} | ${s.observeMs.toFixed(0)} | ${s.planMs.toFixed(0)} | **${s.totalMs.toFixed(0)}** | ${s.maxRssMb.toFixed(0)} MB |`;
      rows.push(row('full create (empty state)', create), row('no-op (converged)', noop));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return [
    '| manifests | plan | changes | load ms | observe ms | plan ms | total ms | peak RSS |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `RegisteredModel manifests (trainings excluded). Goal: a no-op plan of 1,000 resources under 1 s. Load average during the run: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores.`,
  ].join('\n');
}
