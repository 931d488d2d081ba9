/**
 * A DeployedEndpoint's `spec.monitoring` as both providers hand it to mlform's model server
 * (serving/config.ts MonitoringConfig): the local provider in config.json, the gcp provider in
 * the Cloud Run container's environment. The root is the provider's (a state folder, a bucket
 * prefix), never the manifest's. The instance name is left to the server: it appends a random
 * suffix to `$K_REVISION` on Cloud Run, so instances never write the same object.
 */
import type { EndpointMonitoring } from '../resources/monitoring.js';
import { parseDuration } from '../resources/training-run.js';

export { MONITORING_ENV } from '../serving/config.js';

export interface ServerMonitoringSettings {
  root: string;
  endpoint: string;
  sampleRate: number;
  windowSeconds: number;
  retentionSeconds: number;
}

export function serverMonitoring(
  endpoint: string,
  monitoring: EndpointMonitoring,
  root: string,
): ServerMonitoringSettings {
  return {
    root,
    endpoint,
    sampleRate: monitoring.sampleRate,
    windowSeconds: parseDuration(monitoring.window),
    retentionSeconds: parseDuration(monitoring.retention),
  };
}
