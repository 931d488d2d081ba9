export { encodeInstances, decodeOutputs, encoderFor } from './encode.js';
export type { ClassPrediction, InstanceError, Prediction } from './encode.js';
export { isMissing, MISSING_CATEGORY } from './values.js';
export type { ColumnType, FeatureEncoding, Preprocess, Task, TargetEncoding } from './types.js';
