/**
 * artifact.json against the model it describes (docs/artifact.md "artifact.json"): kinds that fit
 * the task, labels and features where they are needed, and for ONNX the input and output mapping
 * against the graph's inputs and outputs (onnx-graph.ts). Pure: check.ts reads the files.
 */
import { error, warning, type Diagnostic, type FieldPath } from '../resources/diagnostic.js';
import { CONTRACT_FILES, type ArtifactDescriptor, type PreprocessFile } from './contract.js';
import { ARTIFACT_FILES } from './files.js';
import type { OnnxGraph, OnnxValue } from './onnx-graph.js';

/** The builtin trainer's files imply its descriptor: tfjs, the encoded input, preprocess.json's task. */
export function builtinDescriptor(preprocess: PreprocessFile | undefined): ArtifactDescriptor {
  const classification = preprocess?.target.type === 'label';
  return {
    formatVersion: 1,
    format: 'tfjs',
    model: ARTIFACT_FILES.model,
    task: classification ? 'classification' : 'regression',
    input: { kind: 'encoded' },
    output: { kind: classification ? 'probabilities' : 'value' },
    ...(preprocess?.target.type === 'label' && { labels: preprocess.target.labels }),
  };
}

/** artifact.json's defaults: the encoded input; a value for regression, probabilities for classification. */
export const inputKindOf = (descriptor: ArtifactDescriptor) => descriptor.input?.kind ?? 'encoded';
export const outputKindOf = (descriptor: ArtifactDescriptor) =>
  descriptor.output?.kind ?? (descriptor.task === 'regression' ? 'value' : 'probabilities');

const lastDim = (value: OnnxValue): number | string | null | undefined => value.shape?.at(-1);

/** artifact.json's input and output mapping against the ONNX graph's inputs and outputs. */
export function checkOnnxMapping(
  graph: OnnxGraph,
  descriptor: ArtifactDescriptor,
  preprocess: PreprocessFile | undefined,
  labels: number | undefined,
  out: Diagnostic[],
): void {
  const file = CONTRACT_FILES.descriptor;
  const mapping = (message: string, path: FieldPath, hint?: string) =>
    out.push(error('artifact-mapping', message, { file, path, ...(hint !== undefined && { hint }) }));
  const names = (values: OnnxValue[]) => values.map((v) => v.name).join(', ') || 'none';
  const width = (value: OnnxValue, expected: number, what: string, path: FieldPath) => {
    // [N]: one value per row, the regression output (or a single stacked feature) without its 1.
    if (expected === 1 && value.shape?.length === 1) return;
    const last = lastDim(value);
    if (typeof last === 'number') {
      if (last !== expected)
        mapping(`the model's ${value.name} has width ${last}, but ${what} is ${expected}`, path);
    } else {
      out.push(
        warning(
          'artifact-unchecked',
          `the model's ${value.name} has no fixed last dimension; its width ${expected} could not be checked`,
          {
            file,
            path,
            hint: 'export with a fixed feature dimension (only the batch dimension dynamic)',
          },
        ),
      );
    }
  };
  const float = (value: OnnxValue, path: FieldPath) => {
    if (value.elementType !== 'float') {
      mapping(
        `the model's input ${value.name} is ${value.elementType ?? 'not a tensor'}, not float (float32)`,
        path,
        'export the model with float32 inputs',
      );
    }
  };

  const kind = inputKindOf(descriptor);
  if (kind === 'named') {
    const features = descriptor.features ?? [];
    const fed = new Set<string>();
    features.forEach((feature, i) => {
      const inputName = feature.input ?? feature.name;
      fed.add(inputName);
      const input = graph.inputs.find((v) => v.name === inputName);
      if (!input) {
        mapping(
          `the model has no input ${inputName} for feature ${feature.name} (its inputs: ${names(graph.inputs)})`,
          ['features', i, 'input'],
          'set features[].input to the model input it feeds',
        );
      }
    });
    for (const input of graph.inputs.filter((v) => !fed.has(v.name))) {
      mapping(
        `the model's input ${input.name} is fed by no feature`,
        ['features'],
        `add a feature with input: ${input.name}`,
      );
    }
  } else {
    const wanted = descriptor.input?.name;
    const input = wanted !== undefined ? graph.inputs.find((v) => v.name === wanted) : graph.inputs[0];
    const path: FieldPath = ['input'];
    if (wanted === undefined && graph.inputs.length !== 1) {
      mapping(
        `input kind ${kind} feeds one input, but the model has ${graph.inputs.length} (${names(graph.inputs)})`,
        path,
        'set input.name, or use input.kind named',
      );
    } else if (!input) {
      mapping(`the model has no input ${wanted} (its inputs: ${names(graph.inputs)})`, [...path, 'name']);
    } else {
      float(input, path);
      if (kind === 'encoded' && preprocess)
        width(input, preprocess.encodedWidth, "preprocess.json's encodedWidth", path);
      if (kind === 'stacked') width(input, descriptor.features?.length ?? 0, 'the number of features', path);
    }
  }

  const wantedOutput = descriptor.output?.name;
  const output =
    wantedOutput !== undefined ? graph.outputs.find((v) => v.name === wantedOutput) : graph.outputs[0];
  if (!output) {
    const which = wantedOutput !== undefined ? `output ${wantedOutput}` : 'output';
    mapping(`the model has no ${which} (its outputs: ${names(graph.outputs)})`, ['output', 'name']);
    return;
  }
  if (descriptor.task === 'regression') width(output, 1, 'a regression value', ['output']);
  else if (labels !== undefined) width(output, labels, 'the number of labels', ['output']);
}

/** The descriptor's own rules: kinds that fit the task and the format, labels, features. */
export function checkDescriptor(
  descriptor: ArtifactDescriptor,
  preprocess: PreprocessFile | undefined,
  hasPreprocess: boolean,
  out: Diagnostic[],
) {
  const file = CONTRACT_FILES.descriptor;
  const problem = (path: FieldPath, message: string, hint: string) =>
    out.push(error('artifact-descriptor', message, { file, path, hint }));
  const input = inputKindOf(descriptor);
  const output = outputKindOf(descriptor);
  if (descriptor.task === 'regression' && output !== 'value') {
    problem(
      ['output', 'kind'],
      `a regression model's output kind is value, not ${output}`,
      'set output.kind: value',
    );
  }
  if (descriptor.task === 'classification') {
    if (output === 'value') {
      problem(
        ['output', 'kind'],
        "a classifier's output kind is logits or probabilities, not value",
        'set output.kind: logits (softmax is applied) or probabilities',
      );
    }
    if (!descriptor.labels && preprocess?.target.type !== 'label') {
      problem(
        ['labels'],
        'a classifier needs its labels, in the order of the model output',
        'add labels: ["class-a", "class-b", ...]',
      );
    }
  }
  if (
    input === 'encoded' &&
    !hasPreprocess &&
    (descriptor.format === 'onnx' || descriptor.format === 'tfjs')
  ) {
    problem(
      ['input', 'kind'],
      'input kind encoded needs preprocess.json, and the folder has none',
      'write preprocess.json, or use input.kind stacked or named with features',
    );
  }
  if ((input === 'stacked' || input === 'named') && !descriptor.features) {
    problem(
      ['features'],
      `input kind ${input} needs features (the raw features clients send, in order)`,
      'add features: [{name, type}, ...]',
    );
  }
  if (input === 'stacked') {
    descriptor.features?.forEach((f, i) => {
      if (f.type === 'categorical') {
        problem(
          ['features', i, 'type'],
          `input kind stacked takes numeric and boolean features; ${f.name} is categorical`,
          'use input.kind encoded with preprocess.json (one-hot), or named inputs',
        );
      }
    });
  }
  if (
    preprocess &&
    descriptor.task !== (preprocess.task === 'forecasting' ? 'regression' : preprocess.task)
  ) {
    problem(
      ['task'],
      `task is ${descriptor.task}, but preprocess.json's task is ${preprocess.task}`,
      'make both files say the same task',
    );
  }
}
