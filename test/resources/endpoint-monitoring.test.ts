/** `spec.monitoring` of a DeployedEndpoint: the rules checkDeployedEndpointSpec adds (issue 15). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifests } from '../../manifests/load.js';
import { tempDir } from '../serving/temp-dir.js';

let dir: { path: string; remove(): Promise<void> };
beforeAll(async () => {
  dir = await tempDir('mlform-endpoint-monitoring-');
});
afterAll(() => dir.remove());

async function problems(spec: string): Promise<string[]> {
  const file = join(dir.path, `${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(
    file,
    `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: mpg}\nspec: {aliases: {champion: {version: 1}}}\n---\n` +
      `apiVersion: mlform/v1\nkind: DeployedEndpoint\nmetadata: {name: mpg-api}\nspec:\n  model: mpg\n${spec}`,
  );
  const { diagnostics } = await loadManifests([file]);
  return diagnostics.filter((d) => d.severity !== 'warning').map((d) => `${d.code}: ${d.message}`);
}

describe('DeployedEndpoint spec.monitoring', () => {
  it('accepts the defaults and a sensible window and retention', async () => {
    expect(await problems('  monitoring: {}\n')).toEqual([]);
    expect(await problems('  monitoring: {sampleRate: 1, window: 5m, retention: 24h}\n')).toEqual([]);
  });

  it('refuses a window under ten seconds, and a retention shorter than two windows', async () => {
    expect(await problems('  monitoring: {window: 5s}\n')).toEqual([
      'monitoring-window: window 5s is outside 10s to 744h',
    ]);
    expect(await problems('  monitoring: {window: 2h, retention: 3h}\n')).toEqual([
      'monitoring-retention: retention 3h keeps less than two windows of 2h: the last complete window would be deleted before it is read',
    ]);
  });

  it('refuses monitoring on an endpoint served by a container of its own, with a hint', async () => {
    const found = await problems(
      '  container: {command: [python, serve.py], port: 9000, healthPath: /health, predictPath: /predict}\n  monitoring: {}\n',
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^monitoring-container: spec\.monitoring needs mlform's model server/);
  });
});
