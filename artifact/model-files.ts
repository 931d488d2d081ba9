/**
 * Names and the path rule of a saved model's files, without TensorFlow.js: readers that only
 * look at model.json (the tuning objectives' `parameters`/`modelBytes`, which the gcp provider
 * imports) must not load tfjs to know them. model-io.ts re-exports them.
 */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Shard paths are relative to model.json; refuse anything that would escape its directory. */
export const isRelativeFile = (path: string): boolean =>
  path !== '' &&
  !path.startsWith('/') &&
  !/^[a-z][a-z0-9+.-]*:/i.test(path) &&
  !path.split(/[\\/]/).includes('..');
