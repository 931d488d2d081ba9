export { loadTable, formatFromUri, DataLoadError } from './load-table.js';
export type { Table, TableFormat, LoadTableOptions } from './load-table.js';
export { inferColumnType, inferColumnTypes } from './infer-types.js';
export { prepareData } from './prepare.js';
export { encodeInstances, decodeOutputs, encoderFor } from '../../artifact/preprocess/encode.js';
export type {
  EncodedInstances,
  InstanceError,
  Prediction,
  ClassPrediction,
} from '../../artifact/preprocess/encode.js';
export { mulberry32, seedFor, permutation, shuffleInPlace } from './random.js';
export type { Random } from './random.js';
export { DataError } from '../../artifact/preprocess/data-error.js';
export { isMissing, MISSING_CATEGORY } from '../../artifact/preprocess/values.js';
export { RowEncoder } from '../../artifact/preprocess/row-encoder.js';
