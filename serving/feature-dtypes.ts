/**
 * The tensor type a client sends for each kind of raw feature, as the metadata routes name it:
 * TensorFlow Serving's `DT_*` (v1 metadata) and the Open Inference Protocol's datatypes (v2).
 * Dates travel as text (ISO 8601) or epoch milliseconds; the v2 request may use either.
 */
import type { FeatureEncoding } from '../artifact/preprocess/types.js';

const FEATURE_DTYPES: Record<FeatureEncoding['type'], { tfServing: string; openInference: string }> = {
  numeric: { tfServing: 'DT_FLOAT', openInference: 'FP32' },
  boolean: { tfServing: 'DT_BOOL', openInference: 'BOOL' },
  date: { tfServing: 'DT_STRING', openInference: 'BYTES' },
  categorical: { tfServing: 'DT_STRING', openInference: 'BYTES' },
};

export const tfServingDtype = (feature: FeatureEncoding): string => FEATURE_DTYPES[feature.type].tfServing;
export const openInferenceDatatype = (feature: FeatureEncoding): string =>
  FEATURE_DTYPES[feature.type].openInference;
