/**
 * Study visualisations from TuningFile fixtures: the plots' data checked against values worked out
 * here, the importance on a study where one parameter decides the score, the PNGs and the
 * TensorBoard files read back with the independent reader.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setDefaultGcsStore, type ObjectStore } from '../../artifact/storage.js';
import { validateAgainstJsonSchema } from '../../manifests/schema-validation.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { resolveTraining } from '../../trainer/main.js';
import { runTraining } from '../../trainer/run-training.js';
import { runTuning } from '../../trainer/tuning/run-tuning.js';
import type { TrialLauncher } from '../../trainer/tuning/trial-launcher.js';
import type { TuningFile } from '../../trainer/tuning/tuning-file.js';
import { TuningFileSchema } from '../../trainer/tuning/tuning-file.js';
import {
  STUDY_IMAGE_TAGS,
  TUNING_PLOTS_FILE,
  TuningPlotsSchema,
  computeStudyPlots,
  writeStudyVisuals,
  type TuningPlots,
} from '../../trainer/tuning/visualise/index.js';
import { parameterImportance } from '../../trainer/tuning/visualise/importance.js';
import { studyPlots } from '../../trainer/tuning/visualise/study-plots.js';
import { LAYERS, SPACE, studyFixture } from './tuning-visual-fixture.js';
import {
  VALUE,
  parseEvents,
  pluginName,
  structValue,
  tagOf,
  valuesWithTag,
  type ReadEvent,
} from './tensorboard-event-reader.js';

describe('study plots', () => {
  const file = studyFixture(12);
  const plots = studyPlots(file);

  it('keeps each trial value and the best so far, failed trials without a value', () => {
    let best = Infinity;
    const expected = file.trials.map((t) => {
      if (t.metric !== null) best = Math.min(best, t.metric);
      return { trial: t.trial, state: t.state, value: t.metric, best: Number.isFinite(best) ? best : null };
    });
    expect(plots.history).toEqual(expected);
    expect(plots.history[2]).toMatchObject({ trial: 3, state: 'failed', value: null });
  });

  it('takes the best so far in the goal direction', () => {
    const maximised = studyPlots({ ...file, goal: 'maximize' });
    const values = file.trials.map((t) => t.metric).filter((v): v is number => v !== null);
    expect(maximised.history.at(-1)?.best).toBe(Math.max(...values));
  });

  it('has a log axis for logUniform, categories for choice, a linear one for uniform, the score last', () => {
    const axes = plots.parallel.axes;
    expect(axes.map((a) => [a.key, a.kind])).toEqual([
      ['learningRate', 'log'],
      ['network.layers', 'categorical'],
      ['network.dropout', 'linear'],
      ['score', 'linear'],
    ]);
    expect(axes[0].domain).toEqual([1e-4, 1e-1]);
    expect(axes[1].categories).toEqual(['8', '16', '32x16']);
    const values = file.trials.map((t) => t.metric).filter((v): v is number => v !== null);
    expect(axes[3].domain).toEqual([Math.min(...values), Math.max(...values)]);
  });

  it('places every trial on each axis: log position, category index, linear position', () => {
    const t = file.trials[0];
    const row = plots.parallel.rows[0];
    const lr = t.params.learningRate as number;
    expect(row.positions[0]).toBeCloseTo(
      (Math.log(lr) - Math.log(1e-4)) / (Math.log(1e-1) - Math.log(1e-4)),
      12,
    );
    const layerIndex = LAYERS.findIndex(
      (l) => l.join('x') === (t.params['network.layers'] as number[]).join('x'),
    );
    expect(row.positions[1]).toBe(layerIndex / 2);
    expect(row.positions[2]).toBeCloseTo((t.params['network.dropout'] as number) / 0.5, 12);
    expect(row.values[1]).toBe((t.params['network.layers'] as number[]).join('x'));
    // The failed trial has parameters but no score.
    expect(plots.parallel.rows[2].positions[3]).toBeNull();
    expect(plots.parallel.rows[2].positions[0]).not.toBeNull();
  });

  it('leaves a conditional parameter a trial lacks off its axis', () => {
    const conditional = studyFixture(4);
    delete conditional.trials[1].params['network.dropout'];
    expect(studyPlots(conditional).parallel.rows[1].positions[2]).toBeNull();
  });
});

describe('parameter importance', () => {
  it('finds the parameter that decides the score; every importance in [0, 1], summing to 1', () => {
    const importance = parameterImportance(studyPlots(studyFixture(30)));
    if (!importance) throw new Error('no importance');
    expect(importance.trials).toBe(29); // trial 3 failed
    expect(importance.params[0].key).toBe('learningRate');
    expect(importance.params[0].importance).toBeGreaterThan(0.7);
    for (const p of importance.params) {
      expect(p.importance).toBeGreaterThanOrEqual(0);
      expect(p.importance).toBeLessThanOrEqual(1);
    }
    expect(importance.params.reduce((sum, p) => sum + p.importance, 0)).toBeCloseTo(1, 12);
  });

  it('is reproducible, and absent when it cannot be told', () => {
    const plots = studyPlots(studyFixture(20));
    expect(parameterImportance(plots)).toEqual(parameterImportance(plots));
    expect(parameterImportance(studyPlots(studyFixture(3)))).toBeUndefined(); // two ranked trials
    const flat = studyFixture(10);
    for (const t of flat.trials) if (t.metric !== null) t.score = t.metric = 0.5;
    expect(parameterImportance(studyPlots(flat))).toBeUndefined();
  });

  it('is recorded into tuning.json as key -> importance', () => {
    const file = studyFixture(20);
    const plots = computeStudyPlots(file);
    expect(file.importance).toEqual(
      Object.fromEntries(plots.importance!.params.map((p) => [p.key, p.importance])),
    );
    expect(validateAgainstJsonSchema(TuningFileSchema, file)).toEqual([]);
  });
});

describe('Pareto front', () => {
  /** Two objectives to minimise: val_loss and model size; the front worked out by hand. */
  function twoObjectives(withPareto: boolean): TuningFile {
    const file = studyFixture(6);
    const points: [number, number][] = [
      [0.3, 900],
      [0.2, 1200],
      [0, 0], // trial 3: failed
      [0.25, 1500], // dominated by trial 2
      [0.5, 400],
      [0.6, 800], // dominated by trial 5
    ];
    file.trials.forEach((t, i) => {
      if (t.state === 'failed') return;
      t.values = points[i];
      t.metric = t.score = points[i][0];
    });
    file.objectives = [{ metric: 'model_bytes', goal: 'minimize' }];
    if (withPareto) file.pareto = [1, 2, 5];
    return file;
  }

  it("draws the engine's front, or works it out for the first two objectives", () => {
    for (const withPareto of [true, false]) {
      const pareto = studyPlots(twoObjectives(withPareto)).pareto!;
      expect(pareto.x).toEqual({ metric: 'val_loss', goal: 'minimize' });
      expect(pareto.y).toEqual({ metric: 'model_bytes', goal: 'minimize' });
      expect(pareto.points.filter((p) => p.front).map((p) => p.trial)).toEqual([1, 2, 5]);
      expect(pareto.points.map((p) => p.trial)).toEqual([1, 2, 4, 5, 6]);
    }
  });

  it('is absent for a single objective', () => {
    expect(studyPlots(studyFixture(5)).pareto).toBeUndefined();
  });
});

describe('writeStudyVisuals', () => {
  let dir: string;
  let file: TuningFile;
  let plots: TuningPlots;
  let studyEvents: ReadEvent[];
  const trialEvents = new Map<string, ReadEvent[]>();

  const readEventDir = async (path: string): Promise<ReadEvent[]> => {
    const names = (await readdir(path)).filter((n) => n.startsWith('events.out.tfevents.'));
    expect(names).toHaveLength(1);
    return parseEvents(await readFile(join(path, names[0])));
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlform-study-visual-'));
    file = studyFixture(12);
    file.objectives = [{ metric: 'model_bytes', goal: 'minimize' }];
    for (const t of file.trials) if (t.metric !== null) t.values = [t.metric, 1000 * t.trial];
    // Twice: a second call (after another trial) rewrites the same files instead of adding some.
    await writeStudyVisuals(dir, structuredClone(file));
    await writeStudyVisuals(dir, file);
    plots = JSON.parse(await readFile(join(dir, TUNING_PLOTS_FILE), 'utf8')) as TuningPlots;
    const studyDir = join(dir, 'tensorboard', 'study');
    studyEvents = await readEventDir(studyDir);
    for (const name of (await readdir(studyDir)).filter((n) => n.startsWith('trial-')))
      trialEvents.set(name, await readEventDir(join(studyDir, name)));
  }, 60_000);

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes tuning-plots.json matching its schema and the plots computed from the file', () => {
    expect(validateAgainstJsonSchema(TuningPlotsSchema, plots)).toEqual([]);
    expect(plots).toEqual(computeStudyPlots(structuredClone(file)));
    expect(plots.importance?.params.map((p) => p.key).sort()).toEqual(Object.keys(SPACE).sort());
    expect(file.importance).toBeDefined();
  });

  it('writes the four charts as PNG images into the study run', () => {
    const tags = Object.values(STUDY_IMAGE_TAGS);
    for (const tag of tags) {
      const [entry] = valuesWithTag(studyEvents, tag);
      expect(entry, tag).toBeDefined();
      expect(entry.step).toBe(11); // ranked trials
      const image = entry.value.message(VALUE.image);
      const png = PNG.sync.read(Buffer.from(image.bytes(4)));
      expect([png.width, png.height]).toEqual([image.int(2), image.int(1)]);
      expect(png.width).toBeGreaterThanOrEqual(480);
    }
  });

  it('writes one HParams session per trial with its params, value and status', () => {
    expect([...trialEvents.keys()].sort()).toEqual(file.trials.map((t) => `trial-${t.trial}`).sort());
    const [experimentEntry] = valuesWithTag(studyEvents, '_hparams_/experiment');
    expect(pluginName(experimentEntry.value)).toBe('hparams');
    const experiment = experimentEntry.value.message(VALUE.metadata).message(1).message(2).message(2);
    const infos = experiment.messages(4);
    expect(infos.map((i) => i.string(1))).toEqual(['learningRate', 'network.layers', 'network.dropout']);
    // learningRate: FLOAT64 with the space's interval; network.layers: STRING with its choices.
    expect(infos[0].int(4)).toBe(3);
    expect([infos[0].message(6).double(1), infos[0].message(6).double(2)]).toEqual([1e-4, 1e-1]);
    expect(infos[1].message(5).messages(1).map(structValue)).toEqual(['8', '16', '32x16']);
    const metricTags = experiment.messages(5).map((m) => m.message(1).string(2));
    expect(metricTags).toEqual(['val/loss', 'tuning/score', 'train/model_bytes']);

    for (const t of file.trials) {
      const events = trialEvents.get(`trial-${t.trial}`)!;
      const [start] = valuesWithTag(events, '_hparams_/session_start_info');
      const info = start.value.message(VALUE.metadata).message(1).message(2).message(3);
      const hparams = Object.fromEntries(
        info.messages(1).map((e) => [e.string(1), structValue(e.message(2))]),
      );
      expect(hparams).toEqual({
        learningRate: t.params.learningRate,
        'network.layers': (t.params['network.layers'] as number[]).join('x'),
        'network.dropout': t.params['network.dropout'],
      });
      const [end] = valuesWithTag(events, '_hparams_/session_end_info');
      const status = end.value.message(VALUE.metadata).message(1).message(2).message(4).int(1);
      expect(status).toBe(t.state === 'failed' ? 2 : 1);
      const scalars = events.flatMap((e) => e.values.filter((v) => v.has(VALUE.simple_value)).map(tagOf));
      expect(scalars).toEqual(t.metric === null ? [] : ['val/loss', 'tuning/score', 'train/model_bytes']);
      if (t.metric !== null) {
        const [loss] = valuesWithTag(events, 'val/loss');
        expect(loss.value.float(VALUE.simple_value)).toBeCloseTo(t.metric, 5);
      }
    }
  });
});

describe('writeStudyVisuals to gs://', () => {
  afterAll(() => setDefaultGcsStore(undefined));

  it('writes the same objects through the artifact store, rewriting them on a second call', async () => {
    const objects = new Map<string, Buffer>();
    const writes: string[] = [];
    const memory: ObjectStore = {
      read: async (uri) => objects.get(uri) ?? Promise.reject(new Error(`no ${uri}`)),
      write: async (uri, data) => {
        writes.push(uri);
        objects.set(uri, Buffer.from(data));
      },
      exists: async (uri) => objects.has(uri),
      list: async (prefix) => [...objects.keys()].filter((k) => k.startsWith(prefix)),
      remove: async (uri) => void objects.delete(uri),
    };
    setDefaultGcsStore(memory);
    const file = studyFixture(5);
    await writeStudyVisuals('gs://bucket/runs/r1', file);
    const keys = [...objects.keys()].sort();
    expect(keys.filter((k) => !k.includes('/tensorboard/'))).toEqual([
      'gs://bucket/runs/r1/tuning-plots.json',
    ]);
    const eventFiles = keys.filter((k) => k.includes('/tensorboard/study/'));
    expect(eventFiles).toHaveLength(1 + file.trials.length);
    for (const key of eventFiles) expect(parseEvents(objects.get(key)!).length).toBeGreaterThan(1);
    await writeStudyVisuals('gs://bucket/runs/r1', file);
    expect([...objects.keys()].sort()).toEqual(keys);
    expect(writes).toHaveLength(2 * keys.length);
  });
});

describe('a real tuning run', () => {
  // Real trainings of iris through the real engine; in this process rather than in workers,
  // whose start-up would be most of the time (the worker path is tuning-e2e.test.ts's).
  const inProcess: TrialLauncher = async (job, context) => {
    await runTraining({
      spec: job.spec,
      baseDir: context.baseDir,
      outDir: job.outDir,
      onEvent: () => {},
      signal: context.signal,
      ...(context.env && { env: context.env }),
    });
  };

  it('draws the study of a short random search on iris', async () => {
    const out = await mkdtemp(join(tmpdir(), 'mlform-study-real-'));
    try {
      const resolved = await resolveTraining({ specFile: 'examples/trainer/iris-tuning.yaml', out }, {});
      if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
      const spec = structuredClone(resolved.value.resource.manifest.spec as TrainingRunSpec);
      spec.trainer.builtin!.hyperparameters.epochs = 3;
      spec.tuning = { ...spec.tuning!, algorithm: 'random', trials: 4, parallel: 1 };
      await runTuning({
        spec,
        baseDir: resolved.value.baseDir,
        outDir: out,
        name: 'iris-tuned',
        onEvent: () => {},
        env: { MLFORM_BACKEND: 'wasm' },
        launcher: inProcess,
      });
      const tuning = JSON.parse(await readFile(join(out, 'tuning.json'), 'utf8')) as TuningFile;
      const plots = JSON.parse(await readFile(join(out, TUNING_PLOTS_FILE), 'utf8')) as TuningPlots;
      expect(validateAgainstJsonSchema(TuningPlotsSchema, plots)).toEqual([]);
      expect(plots.history.map((p) => [p.trial, p.value])).toEqual(
        tuning.trials.map((t) => [t.trial, t.metric]),
      );
      expect(plots.history.at(-1)?.best).toBe(tuning.best?.metric);
      expect(plots.parallel.axes.map((a) => a.key)).toEqual(['learningRate', 'network.layers', 'score']);
      // tuning.json carries the importance the plots show.
      expect(plots.importance?.trials).toBe(4);
      expect(tuning.importance).toEqual(
        plots.importance && Object.fromEntries(plots.importance.params.map((p) => [p.key, p.importance])),
      );
      const studyDir = join(out, 'tensorboard', 'study');
      const entries = (await readdir(studyDir)).sort();
      expect(entries.filter((e) => e.startsWith('trial-'))).toEqual([
        'trial-1',
        'trial-2',
        'trial-3',
        'trial-4',
      ]);
      const events = parseEvents(
        await readFile(
          join(
            studyDir,
            entries.find((e) => e.startsWith('events.'))!,
          ),
        ),
      );
      expect(valuesWithTag(events, STUDY_IMAGE_TAGS.history)).toHaveLength(1);
      expect(valuesWithTag(events, STUDY_IMAGE_TAGS.parallel)).toHaveLength(1);
      // The best trial's own event files stay at the top of the logdir, as trained.
      expect((await readdir(join(out, 'tensorboard'))).filter((e) => e.startsWith('events.'))).toEqual(
        (await readdir(join(out, tuning.best!.dir, 'tensorboard'))).filter((e) => e.startsWith('events.')),
      );
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('through the CLI', () => {
  it('mlform train on a tuned manifest leaves tuning-plots.json and the study in the TensorBoard logdir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlform-study-cli-'));
    try {
      // The example, shortened: three trials at once, two epochs each, one round of workers.
      const manifest = (await readFile('examples/trainer/iris-tuning.yaml', 'utf8'))
        .replace('file://../data/iris.csv', `file://${join(process.cwd(), 'examples/data/iris.csv')}`)
        .replace('epochs: 30', 'epochs: 2')
        .replace('algorithm: halving', 'algorithm: random')
        .replace('trials: 4', 'trials: 3')
        .replace('parallel: 2', 'parallel: 3');
      const spec = join(dir, 'tuned.yaml');
      await writeFile(spec, manifest);
      const out = join(dir, 'out');
      const allow = ['--allow-data-root', join(process.cwd(), 'examples/data')];
      const result = spawnSync(
        process.execPath,
        ['bin/mlform.js', 'train', '--spec', spec, '--out', out, ...allow],
        {
          env: { ...process.env, MLFORM_BACKEND: 'wasm', MLFORM_MAX_LOCAL_TRAININGS: '3', NO_COLOR: '1' },
          encoding: 'utf8',
        },
      );
      expect(result.status, result.stderr).toBe(0);
      const tuning = JSON.parse(await readFile(join(out, 'tuning.json'), 'utf8')) as TuningFile;
      const plots = JSON.parse(await readFile(join(out, TUNING_PLOTS_FILE), 'utf8')) as TuningPlots;
      expect(plots.history.map((p) => p.trial)).toEqual([1, 2, 3]);
      expect(plots.history.at(-1)?.best).toBe(tuning.best?.metric);
      const study = (await readdir(join(out, 'tensorboard', 'study'))).sort();
      expect(study.filter((e) => e.startsWith('trial-'))).toEqual(['trial-1', 'trial-2', 'trial-3']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
