/**
 * Point 9 of issue 11 through the CLI (local provider): env values are literals or
 * `{secretRef: {name, key}}`. The secret exists where the operator keeps it (environment and a
 * secrets folder), so it could leak; it must appear in no output, and a literal that looks like a
 * credential is warned about at its line and masked wherever mlform shows the spec.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve('.');
const SECRET_VALUE = 'hf-value-LEAK-7c1d2e';
const LITERAL = 'ghp_Zq8rT3xY7wPm2LkN5vB9cD4fG6hJ1aS0eR2u';

let root: string;
let project: string;
let secretsDir: string;

function mlform(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/mlform.js'), ...args], {
      cwd: root,
      env: {
        ...process.env,
        NO_COLOR: '1',
        FORCE_COLOR: undefined,
        CI: 'true',
        MLFORM_SECRET_HUGGINGFACE_TOKEN: SECRET_VALUE,
        MLFORM_SECRETS_DIR: secretsDir,
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => done({ code, out, err }));
  });
}

const manifest = [
  'apiVersion: mlform/v1',
  'kind: TrainingRun',
  'metadata:',
  '  name: custom',
  'spec:',
  '  trainer:',
  '    container:',
  '      image: example.com/train:1',
  '      env:',
  '        MODE: fast',
  '        HF_TOKEN: {secretRef: {name: huggingface, key: token}}',
  `        GITHUB_TOKEN: ${LITERAL}`,
  '',
].join('\n');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-secrets-'));
  project = join(root, 'project');
  secretsDir = join(root, 'operator-secrets');
  await mkdir(join(secretsDir, 'huggingface'), { recursive: true });
  await writeFile(join(secretsDir, 'huggingface', 'token'), SECRET_VALUE);
  await mkdir(project);
  await writeFile(join(project, 'mlform.yaml'), 'stack: sec\nprovider: local\n');
  await writeFile(join(project, 'run.yaml'), manifest);
});

afterAll(() => rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));

describe('secretRef env values through the CLI', () => {
  it('validate accepts the reference and warns about the literal at its line, without printing it', async () => {
    const r = await mlform('validate', project);
    expect(r.code).toBe(0);
    const lines = manifest.split('\n');
    const line = lines.findIndex((l) => l.includes('GITHUB_TOKEN:')) + 1;
    const col = (lines[line - 1] ?? '').indexOf(LITERAL) + 1;
    expect(r.out + r.err).toContain(
      `run.yaml:${line}:${col} warning [literal-credential] env GITHUB_TOKEN looks like a credential (a well-known token format) written as a literal`,
    );
    expect(r.out + r.err).toContain('secretRef');
    expect(r.out + r.err).not.toContain(LITERAL);
    expect(r.out + r.err).not.toContain(SECRET_VALUE);
  });

  it('plan text, plan -o json, a saved plan, describe and get never contain the secret value', async () => {
    const planFile = join(root, 'saved-plan.json');
    const text = await mlform('plan', project, '--out', planFile);
    expect(text.code).toBe(0);
    expect(text.out).toContain('+ TrainingRun/custom');
    // The warning also reaches plan, at the same line.
    expect(text.out + text.err).toContain('warning [literal-credential]');
    const json = await mlform('plan', project, '-o', 'json');
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.out) as {
      changes: { after: { spec: { trainer: { container: { env: unknown } } } } }[];
    };
    // Programs see the reference as data and the literal masked.
    expect(doc.changes[0]?.after.spec.trainer.container.env).toEqual({
      MODE: 'fast',
      HF_TOKEN: { secretRef: { name: 'huggingface', key: 'token' } },
      GITHUB_TOKEN: '***',
    });
    const saved = await readFile(planFile, 'utf8');
    const describe = await mlform('describe', 'trainingrun/custom', '-f', project);
    expect(describe.code).toBe(0);
    expect(describe.out).toContain('HF_TOKEN: secretRef(huggingface/token)');
    expect(describe.out).toContain('GITHUB_TOKEN: "***"');
    const describeJson = await mlform('describe', 'trainingrun/custom', '-f', project, '-o', 'json');
    const get = await mlform('get', '-f', project);
    const getJson = await mlform('get', '-f', project, '-o', 'json');
    for (const r of [describeJson, get, getJson]) expect(r.code).toBe(0);
    for (const r of [text, json, describe, describeJson, get, getJson]) {
      expect(r.out + r.err).not.toContain(SECRET_VALUE);
      expect(r.out + r.err).not.toContain(LITERAL);
    }
    // A saved plan holds the spec apply needs: references, never resolved values.
    expect(saved).toContain('"secretRef"');
    expect(saved).not.toContain(SECRET_VALUE);
  });
});
