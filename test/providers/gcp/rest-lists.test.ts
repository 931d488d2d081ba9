/**
 * The REST listings (providers/gcp/rest-lists.ts) answer as the SDK clients do: for every list
 * RPC an observation makes, page by page, the same items (deep-equal, as google-gax decodes them),
 * the same next request, against a stack converged in test/fakes/gcp by the engine's own apply.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { converge, startBenchFake, writeProject } from '../../../bench/gcp-plan.js';
import type { FakeGcp } from '../../fakes/gcp/index.js';
import { clientSettingsFor, createClients, type GcpClients } from '../../../providers/gcp/clients.js';
import { withRestLists } from '../../../providers/gcp/rest-lists.js';

let fake: FakeGcp;
let dir: string;
let sdk: GcpClients;
let rest: GcpClients;
const parent = 'projects/demo-proj/locations/europe-west4';
const OPTS = { retry: null, timeout: 10_000, autoPaginate: false } as const;

beforeAll(async () => {
  fake = await startBenchFake();
  dir = await mkdtemp(join(tmpdir(), 'mlform-rest-lists-'));
  await writeProject(dir, { id: 'T', runs: 5, models: 2, endpoints: 2, schedules: 2 });
  await converge(dir, fake);
  const settings = clientSettingsFor(
    { project: 'demo-proj', region: 'europe-west4', trainingRegion: 'europe-west4' },
    {},
    fake.url,
  );
  sdk = createClients(settings);
  rest = withRestLists(createClients(settings), settings);
}, 120_000);

afterAll(async () => {
  await Promise.all([sdk?.close(), rest?.close()]);
  await fake?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Page = [unknown[], unknown, unknown];
type Lister = (clients: GcpClients, req: Record<string, unknown>) => Promise<Page>;

/** Every page of both, side by side; the fake must have served pages of items. */
async function samePages(list: Lister, request: Record<string, unknown>): Promise<number> {
  let req: Record<string, unknown> | null = request;
  let items = 0;
  while (req) {
    const [a, b] = await Promise.all([list(sdk, req), list(rest, req)]);
    expect(b[0]).toEqual(a[0]);
    expect(b[1]).toEqual(a[1]);
    items += a[0].length;
    req = a[1] as Record<string, unknown> | null;
  }
  return items;
}

describe('REST listings answer as the SDK clients', () => {
  it('ListCustomJobs, across pages', async () => {
    const n = await samePages((c, r) => c.jobs.listCustomJobs(r, OPTS) as unknown as Promise<Page>, {
      parent,
      filter: 'labels.mlform-stack="bench"',
      pageSize: 2,
    });
    expect(n).toBe(5);
  });

  it('ListHyperparameterTuningJobs (none)', async () => {
    const n = await samePages(
      (c, r) => c.jobs.listHyperparameterTuningJobs(r, OPTS) as unknown as Promise<Page>,
      { parent, pageSize: 100 },
    );
    expect(n).toBe(0);
  });

  it('ListModels, ListServices and the scheduler ListJobs', async () => {
    expect(
      await samePages((c, r) => c.models.listModels(r, OPTS) as unknown as Promise<Page>, {
        parent,
        pageSize: 1,
      }),
    ).toBe(2);
    expect(
      await samePages((c, r) => c.services.listServices(r, OPTS) as unknown as Promise<Page>, {
        parent,
        pageSize: 1,
      }),
    ).toBe(2);
    expect(
      await samePages((c, r) => c.scheduler.listJobs(r, OPTS) as unknown as Promise<Page>, {
        parent,
        pageSize: 1,
      }),
    ).toBe(2);
  });

  it('Cloud Storage getFiles: the same names, metadata and next page', async () => {
    const query = { prefix: 'state/', autoPaginate: false, maxResults: 3 };
    let q: Record<string, unknown> | null = query;
    let seen = 0;
    while (q) {
      const [a, b] = (await Promise.all([
        sdk.storage.bucket('mlform-bench').getFiles(q),
        rest.storage.bucket('mlform-bench').getFiles(q),
      ])) as unknown as [Page, Page];
      const plain = (files: unknown[]) =>
        files.map((f) => ({
          name: (f as { name: string }).name,
          metadata: (f as { metadata: unknown }).metadata,
        }));
      expect(plain(b[0])).toEqual(plain(a[0]));
      expect((b[1] as { pageToken?: string } | null)?.pageToken).toEqual(
        (a[1] as { pageToken?: string } | null)?.pageToken,
      );
      seen += a[0].length;
      q = a[1] as Record<string, unknown> | null;
    }
    expect(seen).toBeGreaterThan(3);
  });

  it.each(['403', '404', '429'] as const)(
    'a %s is thrown as call.ts classifies the SDK client’s (kind, and the permission denied)',
    async (kind) => {
      const { classifyError } = await import('../../../providers/gcp/call.js');
      const { deniedPermission } = await import('../../../providers/gcp/errors.js');
      const failing = async (c: GcpClients) => {
        fake.failNext({ kind, rpc: 'ListCustomJobs', permission: 'aiplatform.customJobs.list' });
        return c.jobs.listCustomJobs({ parent, pageSize: 1 }, OPTS).catch((e: unknown) => e);
      };
      const a = await failing(sdk);
      const b = await failing(rest);
      expect(a).toBeInstanceOf(Error);
      expect(b).toBeInstanceOf(Error);
      expect(classifyError('aiplatform', b)).toMatchObject({ kind: classifyError('aiplatform', a).kind });
      if (kind === '403') expect(deniedPermission(b)).toBe(deniedPermission(a) ?? 'no permission named');
    },
  );
});
