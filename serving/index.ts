/** The model server: TensorFlow Serving's REST API over trainer artifacts. See README.md. */
export {
  DEFAULT_BATCHING,
  DEFAULT_LIMITS,
  DEFAULT_LOGGING,
  DEFAULT_MONITORING,
  MONITORING_ENV,
  DEFAULT_MODEL_NAME,
  normalizeServingConfig,
  readServingConfig,
  versionFromUri,
  mergeRawConfig,
} from './config.js';
export type {
  BatchingConfig,
  LimitsConfig,
  LoggingConfig,
  MissingFeaturePolicy,
  MonitoringConfig,
  RawServingConfig,
  ServingConfig,
  UpstreamConfig,
  VersionConfig,
} from './config.js';
export { ModelServer, startModelServer } from './model-server.js';
export type { ModelServerOptions, ServerState } from './model-server.js';
export { ArtifactError, loadModelVersion, warmUp } from './model-version.js';
export type { ModelVersion, VersionLoader, VersionProvenance } from './model-version.js';
export { createServingLogger } from './logger.js';
export { takeUpstreamLaunches, UPSTREAMS_ENV } from './upstream-launch.js';
export type { UpstreamLaunch } from './upstream-launch.js';
export { ServingApp } from './serving-app.js';
export type { AppRequest, AppResponse } from './serving-app.js';
export {
  CHALLENGE_HEADER,
  PROOF_HEADER,
  PROOF_KEY_ENV,
  isProofToken,
  newChallenge,
  newProofKey,
  proofFor,
  verifyProof,
} from './launch-proof.js';
