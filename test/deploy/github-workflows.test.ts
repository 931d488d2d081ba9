/**
 * deploy/github: the pull-request and merge workflows stay in step with the CLI and keep the trust
 * rules of their README, and their `run` steps work: they are run here as GitHub would run them
 * (bash -eo pipefail, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) against a temporary repository with the
 * local provider, `npx mlform` being this build.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../controller/cli/main.js';
import { createContext } from '../../controller/cli/context.js';

const GITHUB = join(import.meta.dirname, '..', '..', 'deploy', 'github');
const CLI = resolve('bin/mlform.js');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  steps: Step[];
  environment?: string;
  needs?: string;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  env: Record<string, string>;
  jobs: Record<string, Job>;
}

const load = async (file: string) => parse(await readFile(join(GITHUB, file), 'utf8')) as Workflow;

/** Every `mlform` invocation in a step's script: its command and the flags it passes. */
function invocations(script: string): { command: string; flags: string[] }[] {
  return [...script.matchAll(/npx mlform ([^\n>|&;]*)/g)].map((m) => {
    const words = m[1].trim().split(/\s+/);
    return { command: words[0], flags: words.filter((w) => w.startsWith('-')) };
  });
}

describe('deploy/github workflows', () => {
  it('run only commands and flags the CLI has', async () => {
    const sink = { write: () => true };
    const program = buildProgram(createContext({ stdout: sink, stderr: sink, env: {} }), () => {});
    let seen = 0;
    for (const file of ['mlform-plan.yml', 'mlform-apply.yml']) {
      for (const job of Object.values((await load(file)).jobs)) {
        for (const step of job.steps) {
          for (const { command, flags } of invocations(step.run ?? '')) {
            seen++;
            const cmd = program.commands.find((c) => c.name() === command);
            expect(cmd, `${file}: mlform ${command}`).toBeDefined();
            const known = cmd?.options.flatMap((o) => [o.long, o.short]) ?? [];
            for (const flag of flags) expect(known, `${file}: mlform ${command} ${flag}`).toContain(flag);
          }
        }
      }
    }
    expect(seen).toBeGreaterThanOrEqual(5);
  });

  it('keep the trust rules: pull requests plan with a read-only identity, only main applies', async () => {
    const plan = await load('mlform-plan.yml');
    expect(Object.keys(plan.on)).toEqual(['pull_request']);
    // Nothing may write but the comment and the OIDC token.
    expect(plan.permissions).toEqual({ contents: 'read', 'id-token': 'write', 'pull-requests': 'write' });
    const planSteps = Object.values(plan.jobs).flatMap((j) => j.steps);
    const auth = planSteps.filter((s) => s.uses?.startsWith('google-github-actions/auth@'));
    expect(auth.map((s) => s.with?.service_account)).toEqual(['${{ vars.MLFORM_PLAN_SERVICE_ACCOUNT }}']);
    expect(planSteps.some((s) => /credentials_json|secrets\./.test(JSON.stringify(s)))).toBe(false);
    for (const s of planSteps.filter((x) => x.uses?.startsWith('actions/checkout@'))) {
      expect(s.with?.['persist-credentials']).toBe(false);
      expect(JSON.stringify(s.with)).not.toMatch(/head\.(sha|ref)/);
    }
    expect(planSteps.some((s) => /mlform apply/.test(s.run ?? ''))).toBe(false);

    const apply = await load('mlform-apply.yml');
    expect(apply.on).toEqual({ push: { branches: ['main'], paths: ['mlform/**'] } });
    const applying = Object.values(apply.jobs).filter((j) =>
      j.steps.some((s) => /mlform apply/.test(s.run ?? '')),
    );
    expect(applying).toHaveLength(1);
    expect(applying[0].environment).toBe('production');
    const identities = applying[0].steps.filter((s) => s.uses?.startsWith('google-github-actions/auth@'));
    expect(identities.map((s) => s.with?.service_account)).toEqual([
      '${{ vars.MLFORM_APPLY_SERVICE_ACCOUNT }}',
    ]);
  });

  describe('their steps, run locally', () => {
    let repo: string;
    let bin: string;

    beforeAll(async () => {
      repo = await mkdtemp(join(tmpdir(), 'mlform-gh-'));
      bin = join(repo, '.bin');
      await mkdir(bin);
      // `npx mlform ...` is this build; anything else npx would fetch is refused.
      await writeFile(
        join(bin, 'npx'),
        `#!/bin/sh\nif [ "$1" = mlform ]; then shift; exec "${process.execPath}" "${CLI}" "$@"; fi\necho "npx $1: not in this test" >&2; exit 127\n`,
      );
      await chmod(join(bin, 'npx'), 0o755);
      await mkdir(join(repo, 'mlform'));
      await writeFile(join(repo, 'mlform', 'mlform.yaml'), 'stack: ci\nprovider: local\n');
      await writeModel('the first model');
      spawnSync('git', ['init', '-q', repo]);
    });
    afterAll(async () => {
      await rm(repo, { recursive: true, force: true });
    });

    const writeModel = (description: string) =>
      writeFile(
        join(repo, 'mlform', 'model.yaml'),
        `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: churn\nspec:\n  description: ${description}\n`,
      );

    /** Runs a job's `run` steps in order as the runner would; stops at the first failing one. */
    async function runJob(file: string, jobName: string) {
      const workflow = await load(file);
      const output = join(repo, '.github_output');
      const summary = join(repo, '.step_summary');
      await writeFile(output, '');
      await writeFile(summary, '');
      const outputs: Record<string, string> = {};
      for (const step of workflow.jobs[jobName].steps) {
        if (!step.run || step.run.startsWith('npm ci')) continue;
        if (step.if) {
          // The only condition on a run step: the plan's exit code.
          const m = /^steps\.plan\.outputs\.exit != '0'$/.exec(step.if);
          expect(m, `${file}: unexpected condition ${step.if}`).not.toBeNull();
          if (outputs.exit === '0') continue;
        }
        const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run], {
          cwd: repo,
          encoding: 'utf8',
          env: {
            PATH: `${bin}:${process.env.PATH ?? ''}`,
            HOME: repo,
            ...workflow.env,
            MLFORM_BACKEND: 'wasm',
            NO_COLOR: '1',
            GITHUB_OUTPUT: output,
            GITHUB_STEP_SUMMARY: summary,
          },
          timeout: 60_000,
        });
        for (const line of (await readFile(output, 'utf8')).split('\n')) {
          const eq = line.indexOf('=');
          if (eq > 0) outputs[line.slice(0, eq)] = line.slice(eq + 1);
        }
        if (result.status !== 0) {
          return { ok: false, step: step.name ?? step.run, output: result.stdout + result.stderr, outputs };
        }
      }
      return { ok: true, outputs, summary: await readFile(summary, 'utf8') };
    }

    it('a pull request: validate, the plan as Markdown for the comment, the saved plan as artifact', async () => {
      const job = await runJob('mlform-plan.yml', 'plan');
      expect(job).toMatchObject({ ok: true, outputs: { exit: '0' } });
      const markdown = await readFile(join(repo, 'plan.md'), 'utf8');
      expect(markdown).toContain('**Plan: 1 to add, 0 to change, 0 to destroy.**');
      expect(markdown).toContain('<details><summary><code>+ RegisteredModel/churn</code> create</summary>');
      expect(job.summary).toBe(markdown);
      expect(JSON.parse(await readFile(join(repo, 'plan.json'), 'utf8'))).toMatchObject({ stack: 'ci' });
    });

    it('the merge: plan, then apply exactly that saved plan; a stale one is refused', async () => {
      expect(await runJob('mlform-apply.yml', 'plan')).toMatchObject({ ok: true });
      expect(await runJob('mlform-apply.yml', 'apply')).toMatchObject({ ok: true });
      const record = await readFile(
        join(repo, 'mlform', '.mlform', 'registry', 'churn', 'model.json'),
        'utf8',
      );
      expect(record).toContain('the first model');

      // The next merge is planned, but before its apply job runs someone else changes the stack.
      await writeModel('the second model');
      expect(await runJob('mlform-apply.yml', 'plan')).toMatchObject({ ok: true });
      await writeModel('a third model');
      const meanwhile = spawnSync(process.execPath, [CLI, 'apply', '-y', 'mlform'], {
        cwd: repo,
        encoding: 'utf8',
        env: { ...process.env, CI: 'true', NO_COLOR: '1' },
      });
      expect(meanwhile.status, meanwhile.stderr).toBe(0);
      await writeModel('the second model');
      const refused = await runJob('mlform-apply.yml', 'apply');
      expect(refused.ok).toBe(false);
      expect(refused.output).toMatch(/stale|moved on|changed since/i);
      // Nothing was applied from the stale plan.
      expect(
        await readFile(join(repo, 'mlform', '.mlform', 'registry', 'churn', 'model.json'), 'utf8'),
      ).toContain('a third model');
    });

    it('a plan with an error fails the check after writing it for the comment', async () => {
      await writeFile(
        join(repo, 'mlform', 'endpoint.yaml'),
        'apiVersion: mlform/v1\nkind: DeployedEndpoint\nmetadata:\n  name: api\nspec:\n  model: missing\n  traffic: [{alias: champion, percent: 100}]\n',
      );
      try {
        const job = await runJob('mlform-plan.yml', 'plan');
        expect(job.ok).toBe(false);
      } finally {
        await rm(join(repo, 'mlform', 'endpoint.yaml'));
      }
    });
  });
});
