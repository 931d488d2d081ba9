/**
 * The training run page against the real local provider: a state directory written by hand (a
 * finished run with a 2 MiB train.log and an artifact), read through `trainingRuns.logs` (byte
 * offsets, 1 MiB pages) and `artifacts.read`, as the server's ViewIO does.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createViewBuilder } from '../../../controller/web/views/index.js';
import { ownershipLabels } from '../../../providers/provider.js';
import { tempProject, type Project } from '../../providers/local/helpers.js';
import { NOW, observed, okDoc, snapshotOf } from './fixture.js';

let project: Project;
const EPOCHS = 5000;

beforeAll(async () => {
  project = await tempProject();
  const dir = join(project.stateDir, 'runs', 'big', '1');
  const artifact = join(dir, 'artifact');
  await mkdir(artifact, { recursive: true });
  const at = NOW.toISOString();
  const record = {
    formatVersion: 1,
    name: 'big',
    number: 1,
    specHash: 'h',
    attempt: 1,
    createdAt: at,
    annotations: {},
  };
  await writeFile(
    join(dir, 'run.json'),
    JSON.stringify({
      ...record,
      labels: ownershipLabels('test', 'TrainingRun', 'big', 'h'),
      manifestPath: join(project.dir, 'run.yaml'),
      spec: {},
      marker: artifact,
      outcome: { state: 'succeeded', finishedAt: at, metrics: { val_loss: 0.5 }, baseline: { val_loss: 1 } },
    }),
  );
  const lines: string[] = [];
  for (let e = 1; e <= EPOCHS; e++) {
    lines.push(
      JSON.stringify({
        type: 'epoch',
        epoch: e,
        epochs: EPOCHS,
        loss: 1 / e,
        metrics: { val_loss: 2 / e },
        etaSeconds: 0,
        elapsedSeconds: e,
      }),
    );
    lines.push(`progress note ${e} ${'.'.repeat(300)}`);
  }
  await writeFile(join(dir, 'train.log'), `${lines.join('\n')}\n`);
  await writeFile(join(artifact, 'metrics.json'), JSON.stringify({ health: 'not an object' }));
});

afterAll(async () => {
  await project?.cleanup();
});

describe('training run on the local provider', () => {
  it('pages a 2 MiB log from the state directory and reads the artifact', async () => {
    const { provider, ctx } = project;
    const listed = await provider.trainingRuns.list(ctx);
    expect(listed.diagnostics).toEqual([]);
    const snapshot = { ...snapshotOf(undefined, observed({ runs: listed.items })), projectDir: project.dir };
    const io = {
      provider,
      ctx: { ...ctx, readOnly: true },
      now: () => NOW,
      scrapeMetrics: async () => undefined,
    };
    const doc = okDoc(
      'trainingrun',
      await createViewBuilder()({ view: 'trainingrun', name: 'big', limit: 20 }, snapshot, io),
    );
    expect(doc.run?.curves.epochs).toHaveLength(EPOCHS);
    expect(doc.run?.curves.series.map((s) => [s.name, s.values.at(-1)])).toEqual([
      ['loss', 1 / EPOCHS],
      ['val_loss', 2 / EPOCHS],
    ]);
    expect(doc.run?.logTail).toHaveLength(200);
    expect(doc.run?.logTail.at(-1)).toMatch(new RegExp(`^progress note ${EPOCHS} `));
    expect(doc.run?.baselineLines).toEqual({ val_loss: 1 });
    expect(doc.run?.health).toBeNull();
    expect(doc.run?.tensorboardDir).toMatch(/artifact\/tensorboard$/);
  });
});
