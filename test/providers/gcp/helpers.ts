/** The gcp provider against test/fakes/gcp, with real SDK clients. */
import {
  startFakeGcp,
  type FakeContainerRun,
  type FakeGcp,
  type FakeGcpOptions,
} from '../../fakes/gcp/index.js';
import { createGcpProvider, type GcpProvider } from '../../../providers/gcp/index.js';
import type { ProviderContext } from '../../../providers/provider.js';
import type { GcpConfig } from '../../../providers/gcp/context.js';

export const CONFIG: GcpConfig = {
  project: 'demo-proj',
  region: 'europe-west4',
  trainingRegion: 'europe-west4',
  bucket: 'gs://mlform-test/state',
  trainerImage: 'europe-docker.pkg.dev/demo-proj/mlform/trainer:1',
  servingImage: 'europe-docker.pkg.dev/demo-proj/mlform/serving:1',
  serviceAccount: 'mlform-runner@demo-proj.iam.gserviceaccount.com',
};

/** A container that "trains": writes the artifact files the provider reads. */
export function syntheticTrainer(metrics: Record<string, number> = { val_mae: 2.5, val_loss: 0.1 }) {
  return async (run: FakeContainerRun): Promise<{ exitCode: number }> => {
    const args = run.containerSpec.args;
    const i = args.indexOf('--out');
    const out = i >= 0 ? args[i + 1] : `${args[args.indexOf('--out-base') + 1]}/${run.jobId}`;
    const { Storage } = await import('@google-cloud/storage');
    const storage = new Storage({ apiEndpoint: run.env.STORAGE_EMULATOR_HOST, projectId: 'x' });
    const m = /^gs:\/\/([^/]+)\/(.*)$/.exec(out);
    if (!m) return { exitCode: 2 };
    const bucket = storage.bucket(m[1]);
    // The fake's faults hit the container's requests too: retry like a real trainer would.
    const save = async (name: string, body: unknown) => {
      for (let i = 0; ; i++) {
        try {
          await bucket.file(`${m[2]}/${name}`).save(JSON.stringify(body), { resumable: false });
          return;
        } catch (e) {
          if (i >= 8) throw e;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    await save('metrics.json', { metrics, baseline: { val_mae: 6.5 } });
    await save('run.json', {
      specHash: 'x',
      data: { sha256: 'd'.repeat(64) },
      finishedAt: new Date().toISOString(),
    });
    return { exitCode: 0 };
  };
}

export interface Harness {
  fake: FakeGcp;
  provider: GcpProvider;
  ctx: ProviderContext;
  close(): Promise<void>;
}

export async function harness(
  options: FakeGcpOptions = {},
  extra: Partial<Parameters<typeof createGcpProvider>[0]> = {},
): Promise<Harness> {
  const fake = await startFakeGcp({ runContainer: syntheticTrainer(), ...options });
  const provider = createGcpProvider({
    config: CONFIG,
    endpoint: fake.url,
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    settings: { pollMs: 20, revisionReadyTimeoutMs: 10_000 },
    ...extra,
  });
  return {
    fake,
    provider,
    ctx: { stack: 'demo', projectDir: process.cwd() },
    async close() {
      await provider.close();
      await fake.close();
    },
  };
}

export async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('waitFor timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
