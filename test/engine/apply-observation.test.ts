/**
 * Observation fails closed (engine/observe.ts): with the real local provider, a resource whose
 * record is damaged is never acted on while the others are, and an error that names no resource
 * (a whole listing failed) stops apply before it acts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProject } from '../../controller/cli/project.js';
import { apply } from '../../controller/engine/apply.js';
import { observationBlocks } from '../../controller/engine/observe.js';
import { error, warning } from '../../resources/diagnostic.js';
import type { Provider } from '../../providers/provider.js';

let dir: string;
const model = (name: string, description: string) =>
  `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: ${name}\nspec:\n  description: ${description}\n`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-observe-'));
  await writeFile(join(dir, 'mlform.yaml'), 'stack: obs\nprovider: local\n');
  await writeFile(join(dir, 'a.yaml'), model('alpha', 'first'));
  await writeFile(join(dir, 'b.yaml'), model('beta', 'second'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function applyOnce(wrap: (p: Provider) => Provider = (p) => p) {
  const opened = await openProject([dir]);
  if (!opened.project) throw new Error(JSON.stringify(opened.diagnostics));
  const { desired, provider, providerCtx } = opened.project;
  return apply({
    provider: wrap(provider),
    ctx: providerCtx,
    desired,
    planOptions: { prune: true },
    wait: false,
  });
}

describe('observation errors block apply', () => {
  it('sorts errors by whether they name one resource; warnings block nothing', () => {
    const blocks = observationBlocks([
      error('local-corrupt-record', 'damaged', { address: 'TrainingRun/x' }),
      error('local-state', 'listing failed', { address: 'DeployedEndpoint' }),
      warning('w', 'noise', { address: 'Schedule/s' }),
    ]);
    expect([...blocks.resources.keys()]).toEqual(['TrainingRun/x']);
    expect(blocks.whole.map((d) => d.code)).toEqual(['local-state']);
  });

  it('a damaged record: that resource fails and is not recreated, an unrelated change proceeds', async () => {
    expect((await applyOnce()).ok).toBe(true);
    const record = join(dir, '.mlform', 'registry', 'alpha', 'model.json');
    await writeFile(record, '{"formatVersion": 1, "na');
    await writeFile(join(dir, 'a.yaml'), model('alpha', 'first, edited'));
    await writeFile(join(dir, 'b.yaml'), model('beta', 'second, edited'));
    const result = await applyOnce();
    expect(result.ok).toBe(false);
    expect(result.failed).toEqual(['RegisteredModel/alpha']);
    expect(result.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code)).toEqual([
      'local-corrupt-record',
    ]);
    expect(await readFile(record, 'utf8')).toBe('{"formatVersion": 1, "na');
    expect(await readFile(join(dir, '.mlform', 'registry', 'beta', 'model.json'), 'utf8')).toContain(
      'second, edited',
    );
  });

  it('an error naming no resource stops the whole apply before it acts', async () => {
    const writes: string[] = [];
    const result = await applyOnce((p) => ({
      ...p,
      registeredModels: {
        ...p.registeredModels,
        put: (ctx, req) => {
          writes.push(req.name);
          return p.registeredModels.put(ctx, req);
        },
      },
      schedules: {
        ...p.schedules,
        list: async () => ({
          items: [],
          diagnostics: [
            error('local-state', 'Schedule: listing schedules failed: EACCES', { address: 'Schedule' }),
          ],
        }),
      },
    }));
    expect(result.ok).toBe(false);
    expect(result.applied).toBe(0);
    expect(writes).toEqual([]);
    expect(result.diagnostics.map((d) => d.code)).toEqual(['local-state']);
  });
});
