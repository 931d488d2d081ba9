/**
 * The TensorboardService client, imported on first use: only an apply that launches a run of a
 * stack with `gcp.tensorboard: {create: true}` needs it, and its module and protos would
 * otherwise add to every command's start-up (issue 16, sub-second plans).
 */
import type { TensorboardServiceClient } from '@google-cloud/aiplatform/build/src/v1/tensorboard_service_client.js';
import { gaxOptions, regionalEndpoint, type ClientSettings } from './clients.js';
import { cachedProtoGax } from './proto-cache.js';

export type { TensorboardServiceClient };

export async function createTensorboardClient(settings: ClientSettings): Promise<TensorboardServiceClient> {
  const { TensorboardServiceClient: Client } =
    await import('@google-cloud/aiplatform/build/src/v1/tensorboard_service_client.js');
  // Instances live next to the jobs that write to them: the training region. Only the
  // service's own protos are parsed (proto-cache.ts).
  return new Client(
    { ...gaxOptions(settings), ...regionalEndpoint(settings, settings.trainingRegion, 'aiplatform') },
    cachedProtoGax('google.cloud.aiplatform.v1.TensorboardService'),
  );
}
