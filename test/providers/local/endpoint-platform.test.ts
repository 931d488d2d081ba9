/**
 * The local provider and `platform: vertexEndpoint`: the platform is a gcp target, so locally the
 * same model server serves; `machine` is ignored with a plan warning that names the field.
 */
import { describe, expect, it } from 'vitest';
import { createLocalProvider } from '../../../providers/local/index.js';
import type { ValidateResource } from '../../../providers/provider.js';

const resource = (spec: Record<string, unknown>): ValidateResource => ({
  kind: 'DeployedEndpoint',
  name: 'api',
  address: 'DeployedEndpoint/api',
  manifest: { spec: { model: 'mpg', ...spec } },
  source: { file: 'endpoint.yaml', line: 3, col: 1 },
});

describe('local provider: platform and machine', () => {
  it('warns that machine is ignored, and says nothing about platform alone', async () => {
    const provider = createLocalProvider({});
    const ctx = { stack: 'demo', projectDir: process.cwd() };
    const found = await provider.validate?.(ctx, [
      resource({
        platform: 'vertexEndpoint',
        machine: { machineType: 'g2-standard-8', accelerator: { type: 'NVIDIA_L4', count: 1 } },
      }),
      resource({ platform: 'vertexEndpoint' }),
    ]);
    expect(found?.map((d) => [d.severity, d.code, d.path, d.file])).toEqual([
      ['warning', 'local-machine-ignored', ['spec', 'machine'], 'endpoint.yaml'],
    ]);
    expect(found?.[0].message).toContain('g2-standard-8');
  });
});
