/**
 * Issue 15's prediction logging through the CLI, on the local provider: `spec.monitoring` in the
 * quickstart's endpoint, `mlform apply`, predictions with request ids, feedback, then `destroy`
 * (the server drains and writes): the sampled log, the window summary with the joined feedback,
 * the raw feedback under `.mlform/monitoring/mpg-api/`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { localStore } from '../../artifact/storage.js';
import { copyQuickstart, runCli } from './cli.js';

let root: string;
let project: string;
const mlform = (...args: string[]) => runCli(args);

beforeAll(async () => {
  ({ root, project } = await copyQuickstart('mlform-predlog-', /schedule\.yaml$/));
  const training = (await readFile(join(project, 'training.yaml'), 'utf8'))
    .replace(/epochs: \d+/, 'epochs: 5')
    .replace(/patience: \d+/, 'patience: 2');
  await writeFile(join(project, 'training.yaml'), training);
  const model = await readFile(join(project, 'model.yaml'), 'utf8');
  await writeFile(join(project, 'model.yaml'), model.replace(/ {2}gate:[\s\S]*?(?= {2}aliases:)/, ''));
  const endpoint = await readFile(join(project, 'endpoint.yaml'), 'utf8');
  await writeFile(
    join(project, 'endpoint.yaml'),
    `${endpoint.trimEnd()}\n  monitoring: { sampleRate: 1, window: 1h, retention: 24h }\n`,
  );
  // The data folder beside the project is inside this repository's tree.
  execFileSync('git', ['init', '-q', root]);
});

afterAll(async () => {
  mlform('destroy', '-y', project);
  await rm(root, { recursive: true, force: true });
});

const lines = async (prefix: string): Promise<Record<string, unknown>[]> => {
  const texts = await Promise.all((await localStore.list(prefix)).map((f) => readFile(f, 'utf8')));
  return texts
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
};

describe('prediction logging through the CLI', () => {
  it('apply serves with monitoring; requests are logged and counted, feedback joined', async () => {
    const applied = mlform('apply', '-y', project);
    expect(applied.out).toContain('Apply complete');
    const record = JSON.parse(
      await readFile(join(project, '.mlform/endpoints/mpg-api/endpoint.json'), 'utf8'),
    ) as {
      url: string;
    };
    const row = {
      Cylinders: 4,
      Displacement: 97,
      Horsepower: 88,
      Weight_in_lbs: 2130,
      Acceleration: 14.5,
      Year: '1970-01-01',
      Origin: 'Japan',
    };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${record.url}/v1/models/mpg:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mlform-request-id': `order-${i}` },
        body: JSON.stringify({ instances: [{ ...row, Horsepower: 80 + i * 40 }] }),
      });
      expect(res.status).toBe(200);
      ids.push(res.headers.get('x-mlform-request-id') ?? '');
      await res.text();
    }
    expect(ids).toEqual(['order-0', 'order-1', 'order-2']);
    const fed = await fetch(`${record.url}/v1/models/mpg:feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        feedback: [
          { id: 'order-1', truth: 30 },
          { id: 'order-9', truth: 1 },
        ],
      }),
    });
    expect(await fed.json()).toMatchObject({ matched: 1, unmatched: 1 });

    // Destroy stops the server; its drain writes what was buffered. The data stays in the state.
    expect(mlform('destroy', '-y', project).code).toBe(0);
    const monitoring = join(project, '.mlform/monitoring/mpg-api');
    const logged = await lines(join(monitoring, 'logs'));
    expect(logged.map((r) => r.id)).toEqual(ids);
    expect(logged[0]).toMatchObject({ endpoint: 'mpg-api', model: 'mpg', version: 1 });
    const summaries = await lines(join(monitoring, 'windows'));
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ count: 3, quality: { count: 1, unmatched: 1 } });
    expect((await lines(join(monitoring, 'feedback'))).map((r) => r.id)).toEqual(['order-1', 'order-9']);
  }, 240_000);
});
