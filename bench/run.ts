/**
 * `npm run bench -- <name>`: runs one benchmark (or all) and updates BENCHMARKS.md.
 * Benchmarks register here; each compares against a floor in the same run.
 */
import { runValidateBench } from './validate.js';
import { runPlanBench } from './plan.js';
import { runGcpPlanBench } from './gcp-plan.js';
import { runServingBench } from './serving.js';
import { runServingMonitoringBench } from './serving-monitoring.js';
import { runDriftBench } from './drift.js';
import { runOnnxServingBench } from './onnx-serving.js';
import { runTrainerBench } from './trainer.js';
import { runControllerBench } from './controller-latency.js';
import { runOnnxRuntimeBench } from './onnx-runtime.js';
import { runUiBench } from './ui.js';
import { runTensorboardImagesBench } from './tensorboard-images.js';
import { writeBenchmarkSection } from './benchmarks-file.js';

const BENCHES: Record<string, { title: string; run: () => Promise<string> }> = {
  validate: { title: 'Loading and validating manifests', run: runValidateBench },
  plan: { title: 'Plans on the local provider', run: runPlanBench },
  'gcp-plan': { title: 'No-op plan on gcp vs a Terraform-style refresh', run: runGcpPlanBench },
  serving: { title: 'Model server under load', run: runServingBench },
  'serving-monitoring': {
    title: 'Model server with monitoring: off, 10% and 100% sampled',
    run: runServingMonitoringBench,
  },
  drift: { title: 'Drift: a day of windows from summaries vs from the raw log', run: runDriftBench },
  'onnx-serving': {
    title: 'One MLP served four ways: builtin, ONNX, node:http floor, FastAPI + PyTorch',
    run: runOnnxServingBench,
  },
  trainer: { title: 'Trainer throughput vs PyTorch', run: runTrainerBench },
  controller: { title: 'Controller: commit-to-apply latency and memory', run: runControllerBench },
  'onnx-runtime': { title: 'ONNX runtimes: onnxruntime-node vs onnxruntime-web', run: runOnnxRuntimeBench },
  'tensorboard-images': {
    title: 'TensorBoard images: Vega-Lite + resvg-wasm vs the hand-written raster',
    run: runTensorboardImagesBench,
  },
  ui: {
    title: 'Dashboard: 1,000 resources in the browser, bytes shipped, memory per open dashboard',
    run: runUiBench,
  },
};

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(BENCHES);
for (const name of names) {
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exitCode = 1;
    continue;
  }
  console.log(`== ${name}`);
  const table = await bench.run();
  console.log(table);
  await writeBenchmarkSection(name, bench.title, `npm run bench -- ${name}`, table);
}
