/**
 * Issue 12's acceptance for field diffs: after the quickstart's TrainingRun trained, a change of
 * `learningRate` and `epochs` shows in the text, JSON and Markdown plans with both values and the
 * replacement it forces. The previous values come from the run the local provider recorded, not
 * from the manifest (which now holds the new ones). The endpoint and schedule are left out: they
 * add a server process and nothing to what is checked here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyQuickstart, runCli } from './cli.js';

let root: string;
let project: string;

const mlform = (...args: string[]) => runCli(args);

async function setHyperparameters(epochs: number, learningRate: number): Promise<void> {
  const file = join(project, 'training.yaml');
  const text = await readFile(file, 'utf8');
  const next = text
    .replace(/^(\s+epochs:) \d+$/m, `$1 ${epochs}`)
    .replace(/^(\s+learningRate:) [\d.]+$/m, `$1 ${learningRate}`);
  expect(next).not.toBe(text);
  await writeFile(file, next);
}

beforeAll(async () => {
  ({ root, project } = await copyQuickstart('mlform-diffs-', /(endpoint|schedule)\.yaml$/));
  execFileSync('git', ['init', '-q', root]);
  // Few epochs (above earlyStopping.patience): the test is about the plan, not the model.
  await setHyperparameters(20, 0.003);
});

afterAll(async () => {
  mlform('destroy', '-y', project);
  await rm(root, { recursive: true, force: true });
});

describe('plan after a hyperparameter change', () => {
  it('names learningRate and epochs with before and after, forcing the replacement', async () => {
    const applied = mlform('apply', '-y', project);
    expect(applied.out).toContain('Apply complete');
    expect(applied.code).toBe(0);

    await setHyperparameters(25, 0.01);
    const epochs = 'spec.trainer.builtin.hyperparameters.epochs';
    const learningRate = 'spec.trainer.builtin.hyperparameters.learningRate';

    const text = mlform('plan', project);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('-/+ TrainingRun/mpg-mlp (mpg-mlp#2)');
    expect(text.stdout).toContain(`~ ${epochs}: 20 -> 25 # forces replacement`);
    expect(text.stdout).toContain(`~ ${learningRate}: 0.003 -> 0.01 # forces replacement`);

    const json = mlform('plan', '-o', 'json', project);
    expect(json.code).toBe(0);
    const plan = JSON.parse(json.stdout) as {
      changes: { address: string; action: string; fields: unknown[] }[];
    };
    const replace = plan.changes.find((c) => c.address === 'TrainingRun/mpg-mlp');
    expect(replace?.action).toBe('replace');
    expect(replace?.fields).toEqual([
      { path: epochs, before: 20, after: 25, replace: true },
      { path: learningRate, before: 0.003, after: 0.01, replace: true },
    ]);

    const markdown = mlform('plan', '-o', 'markdown', project);
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toContain(`-     ${epochs}: 20\n+     ${epochs}: 25   # forces replacement`);
    expect(markdown.stdout).toContain(
      `-     ${learningRate}: 0.003\n+     ${learningRate}: 0.01   # forces replacement`,
    );
  });
});
