import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';

/** Runs the built CLI the way a user does (npm test builds dist/ first). */
function mlform(...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/mlform.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('mlform validate', () => {
  it('exits 0 on the quickstart and lists its resources', () => {
    const { code, stdout } = mlform('validate', 'examples/quickstart');
    expect(code).toBe(0);
    expect(stdout).toContain('TrainingRun/mpg-mlp');
    expect(stdout).toContain('✓ 4 resources in 4 files valid (stack quickstart, provider local)');
    expect(stdout.includes('\u001b[')).toBe(false);
  });

  it('exits 1 with a code frame and a hint', () => {
    const { code, stdout } = mlform('validate', 'test/fixtures/invalid/unknown-field.yaml');
    expect(code).toBe(1);
    expect(stdout).toBe(
      [
        'test/fixtures/invalid/unknown-field.yaml:11:9 error [unknown-field] unknown field "epcohs" in spec.trainer.builtin.hyperparameters',
        '  10 |       hyperparameters:',
        '> 11 |         epcohs: 10',
        '     |         ^^^^^^',
        '  at spec.trainer.builtin.hyperparameters.epcohs (TrainingRun/run)',
        '  hint: did you mean "epochs"?',
        '',
        '✗ 1 error in 1 file',
        '',
      ].join('\n'),
    );
  });

  it('prints machine-readable JSON with --output json', () => {
    const { code, stdout } = mlform('validate', '--output', 'json', 'test/fixtures/invalid/traffic-sum.yaml');
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { formatVersion: number; valid: boolean; diagnostics: unknown[] };
    expect(report).toMatchObject({ formatVersion: 1, valid: false, errorCount: 1 });
    expect(report.diagnostics[0]).toEqual({
      severity: 'error',
      code: 'traffic-sum',
      message: 'traffic percents sum to 110, not 100',
      hint: 'adjust the percents: champion=90, latest=20',
      file: 'test/fixtures/invalid/traffic-sum.yaml',
      line: 15,
      column: 3,
      path: 'spec.traffic',
      pathSegments: ['spec', 'traffic'],
      address: 'DeployedEndpoint/api',
    });
  });

  it('reports a missing path with exit 1', () => {
    const { code, stdout } = mlform('validate', 'does/not/exist');
    expect(code).toBe(1);
    expect(stdout).toContain('no such file or directory: does/not/exist');
  });
});

describe('mlform schema, --help, --version', () => {
  it('prints a kind schema and rejects an unknown kind with a suggestion', () => {
    const ok = mlform('schema', 'trainingrun');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ title: 'TrainingRun', type: 'object' });
    const bad = mlform('schema', 'trainingrn');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('did you mean "trainingrun"?');
  });

  it('documents every command', () => {
    const { code, stdout } = mlform('--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/validate \[options\] \[paths\.\.\.\]/);
    expect(stdout).toMatch(/schema \[kind\]/);
    expect(mlform('validate', '--help').stdout).toContain('Exit status: 0 valid, 1 invalid.');
  });

  it('prints the version', () => {
    expect(mlform('--version').stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('suggests a command for a typo', () => {
    const { code, stderr } = mlform('valdate');
    expect(code).toBe(1);
    expect(stderr).toContain('(Did you mean validate?)');
  });
});
