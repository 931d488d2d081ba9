/**
 * The size of a saved layers model, computed from model.json alone, before TensorFlow.js builds
 * anything. `tf.loadLayersModel` builds every layer of the topology (and runs its initializer, so
 * allocates its weights) before it reads weights.bin: a topology declaring `units: 1e9` costs
 * gigabytes even though the file is tiny. So the loader (model-io.ts) first counts the parameters
 * the topology implies, the parameters the weights manifest declares, and the bytes of the
 * shards, and refuses the model unless all three agree and stay under the limit.
 *
 * Only the layer classes mlform's networks are made of (trainer/network/build-network.ts) are
 * sized; any other class is refused, since its allocation cannot be known without building it.
 */
import { ArtifactLimitError, ARTIFACT_LIMITS } from './limits.js';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Bytes per element of the weight dtypes a manifest may declare (no quantization: mlform writes none). */
const DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1 };

/**
 * Adds up without ever leaving the safe integers: past `cap` the exact value no longer matters,
 * only that it is too large, so the sum saturates at cap + 1.
 */
const capped = (cap: number) => ({
  mul: (a: number, b: number): number => (a === 0 || b === 0 ? 0 : a > (cap + 1) / b ? cap + 1 : a * b),
  add: (a: number, b: number): number => Math.min(cap + 1, a + b),
});

/** Elements and bytes the weights manifest declares, checked entry by entry. */
export function declaredWeights(
  manifest: readonly { weights: readonly unknown[] }[],
  maxBytes: number,
  uri: string,
): { elements: number; bytes: number } {
  const math = capped(maxBytes);
  let elements = 0;
  let bytes = 0;
  for (const group of manifest) {
    for (const spec of group.weights) {
      if (!isRecord(spec) || typeof spec.name !== 'string' || !Array.isArray(spec.shape)) {
        throw new ArtifactLimitError(`${uri}: every weight needs a name and a shape`);
      }
      if (spec.quantization !== undefined) {
        throw new ArtifactLimitError(
          `${uri}: weight ${spec.name} is quantized; mlform loads float32 weights`,
        );
      }
      const size = DTYPE_BYTES[String(spec.dtype ?? 'float32')];
      if (size === undefined) {
        throw new ArtifactLimitError(`${uri}: weight ${spec.name} has dtype ${String(spec.dtype)}`);
      }
      let count = 1;
      for (const d of spec.shape as unknown[]) {
        if (!Number.isSafeInteger(d) || (d as number) < 0) {
          throw new ArtifactLimitError(`${uri}: weight ${spec.name} has shape [${spec.shape.join(', ')}]`);
        }
        count = math.mul(count, d as number);
      }
      elements = math.add(elements, count);
      bytes = math.add(bytes, math.mul(count, size));
    }
  }
  return { elements, bytes };
}

type Shape = number[];

const positive = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 1;

/**
 * Parameters the topology implies, with each layer's output shape followed from the first
 * layer's `batch_input_shape`. Saturates past `maxElements` (the caller refuses it).
 */
export function topologyParameters(topology: unknown, maxElements: number, uri: string): number {
  const fail = (what: string): never => {
    throw new ArtifactLimitError(`${uri}: ${what}`);
  };
  if (!isRecord(topology)) return fail('modelTopology is not an object');
  const modelConfig = isRecord(topology.model_config) ? topology.model_config : topology;
  if (modelConfig.class_name !== 'Sequential') {
    return fail(
      `the model is a ${String(modelConfig.class_name)}; mlform loads the Sequential models its trainer writes`,
    );
  }
  const config = modelConfig.config;
  const layers = Array.isArray(config) ? config : isRecord(config) ? config.layers : undefined;
  if (!Array.isArray(layers) || layers.length === 0) return fail('the model has no layers');
  if (layers.length > ARTIFACT_LIMITS.layers) {
    return fail(`the model has ${layers.length} layers, over the limit of ${ARTIFACT_LIMITS.layers}`);
  }
  const math = capped(maxElements);
  let shape: Shape | undefined;
  let total = 0;
  for (const [i, layer] of layers.entries()) {
    if (!isRecord(layer) || !isRecord(layer.config)) return fail(`layer ${i} is not {class_name, config}`);
    const c = layer.config;
    const what = `layer ${i} (${String(layer.class_name)})`;
    if (shape === undefined) {
      const input = c.batch_input_shape ?? c.batchInputShape;
      if (!Array.isArray(input) || input.length < 2 || !input.slice(1).every(positive)) {
        return fail(`${what} needs a batch_input_shape of positive sizes`);
      }
      shape = input.slice(1) as number[];
    }
    const units = (): number => (positive(c.units) ? c.units : fail(`${what} needs positive integer units`));
    const last = (): number => shape?.at(-1) ?? fail(`${what} has no input`);
    const bias = c.use_bias !== false;
    switch (layer.class_name) {
      case 'InputLayer':
      case 'Dropout':
        break;
      case 'Flatten':
        shape = [shape.reduce((a, b) => math.mul(a, b), 1)];
        break;
      case 'Dense': {
        const u = units();
        total = math.add(total, math.add(math.mul(last(), u), bias ? u : 0));
        shape = [...shape.slice(0, -1), u];
        break;
      }
      case 'LSTM':
      case 'GRU': {
        if (shape.length !== 2) return fail(`${what} reads [steps, features], got [${shape.join(', ')}]`);
        const u = units();
        const gates = layer.class_name === 'LSTM' ? 4 : 3;
        const width = math.mul(gates, u);
        const biases = bias
          ? math.mul(layer.class_name === 'GRU' && c.reset_after === true ? 2 : 1, width)
          : 0;
        total = math.add(total, math.add(math.add(math.mul(last(), width), math.mul(u, width)), biases));
        shape = c.return_sequences === true ? [shape[0], u] : [u];
        break;
      }
      default:
        return fail(`${what}: mlform loads only InputLayer, Flatten, Dense, Dropout, LSTM and GRU layers`);
    }
  }
  return total;
}
