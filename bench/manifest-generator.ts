/** Writes N valid manifests (a realistic mix of the four kinds) into a directory, one file each. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function generateManifests(dir: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'mlform.yaml'), 'stack: bench\nprovider: local\n');
  const groups = Math.ceil(count / 4);
  const writes: Promise<void>[] = [];
  for (let i = 0; i < groups; i++) {
    const docs = [
      `apiVersion: mlform/v1
kind: RegisteredModel
metadata: {name: model-${i}, labels: {team: t${i % 7}}}
spec:
  gate: {metric: val_mae, max: 4, beatBaseline: true}
  aliases: {champion: {policy: best, metric: val_mae}}
`,
      `apiVersion: mlform/v1
kind: TrainingRun
metadata: {name: run-${i}}
spec:
  model: model-${i}
  trainer:
    builtin:
      task: regression
      data: {uri: file://data/cars-${i}.json, target: Miles_per_Gallon, features: [Cylinders, Horsepower, Weight_in_lbs, Origin]}
      network: {type: mlp, layers: [${32 + (i % 32)}, 32], activation: relu, dropout: 0.1}
      hyperparameters: {epochs: ${50 + (i % 50)}, batchSize: 32, learningRate: 0.001, earlyStopping: {patience: 10}}
      seed: ${i}
  resources: {machineType: g2-standard-8, accelerator: {type: NVIDIA_L4, count: 1}, spot: true}
`,
      `apiVersion: mlform/v1
kind: DeployedEndpoint
metadata: {name: endpoint-${i}}
spec:
  model: model-${i}
  traffic: [{version: champion, percent: 90}, {version: latest, percent: 10}]
  preset: production
`,
      `apiVersion: mlform/v1
kind: Schedule
metadata: {name: schedule-${i}}
spec: {trainingRun: run-${i}, cron: "0 ${i % 24} * * 1", timeZone: Europe/Warsaw}
`,
    ];
    docs.forEach((doc, k) => {
      if (i * 4 + k < count)
        writes.push(writeFile(join(dir, `m${String(i * 4 + k).padStart(6, '0')}.yaml`), doc));
    });
    if (writes.length > 256) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
}
