import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeGcp } from '../fakes/gcp/index.js';
import { PARENT, closeAll, errStatus, start, type Clients } from './helpers.js';

const service = (image: string, extra: Record<string, unknown> = {}) => ({
  labels: { 'mlform-stack': 'demo', 'mlform-name': 'api' },
  template: {
    containers: [
      {
        image,
        env: [{ name: 'MODEL', value: 'gs://b/m' }],
        resources: { limits: { cpu: '1', memory: '512Mi' } },
      },
    ],
    scaling: { minInstanceCount: 0, maxInstanceCount: 3 },
    timeout: { seconds: 60 },
    maxInstanceRequestConcurrency: 40,
    ...extra,
  },
});

describe('Cloud Run services', () => {
  let fake: FakeGcp;
  let c: Clients;
  beforeEach(async () => {
    ({ fake, c } = await start({ revisionReadyMs: 80, operationDelayMs: 10 }));
  });
  afterEach(async () => closeAll(fake, c));

  it('creates a service (LRO), updates it into new revisions and splits traffic', async () => {
    const [op] = await c.services.createService({
      parent: PARENT,
      serviceId: 'api',
      service: service('img:1'),
    });
    const [svc] = await op.promise();
    expect(svc.name).toBe(`${PARENT}/services/api`);
    expect(svc.uri).toMatch(/^https:\/\/api-[0-9a-f]+-[a-z]+\.a\.run\.app$/);
    expect(svc.latestReadyRevision).toMatch(/\/revisions\/api-00001-[a-z]{3}$/);
    // Results decoded by op.promise() carry enums as NUMBERS (4 = CONDITION_SUCCEEDED); plain RPCs give names.
    expect(svc.terminalCondition?.state).toBe(4);
    expect(svc.reconciling).toBe(false);
    expect(String(svc.generation)).toBe('1'); // a Long in LRO results
    expect(svc.template?.scaling?.maxInstanceCount).toBe(3);
    // LROs are polled at least once while the revision is not ready.
    expect(fake.count({ api: 'run', rpc: 'GetOperation' })).toBeGreaterThan(0);

    const first = String(svc.latestCreatedRevision).split('/').pop() ?? '';
    const [op2] = await c.services.updateService({
      service: {
        ...service('img:2', { revision: 'api-v2' }),
        name: svc.name,
        traffic: [
          { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: first, percent: 90 },
          { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'api-v2', percent: 10 },
        ],
      },
    });
    const [svc2] = await op2.promise();
    expect(svc2.latestCreatedRevision).toBe(`${PARENT}/services/api/revisions/api-v2`);
    expect(svc2.trafficStatuses?.map((t) => [t.revision, t.percent])).toEqual([
      [first, 90],
      ['api-v2', 10],
    ]);
    expect(String(svc2.generation)).toBe('2');

    const [revs] = await c.revisions.listRevisions({ parent: `${PARENT}/services/api` });
    expect(revs.map((r) => r.name?.split('/').pop()).sort()).toEqual([first, 'api-v2'].sort());
    const [allRevs] = await c.revisions.listRevisions({ parent: `${PARENT}/services/-` });
    expect(allRevs).toHaveLength(2);
    const [rev] = await c.revisions.getRevision({ name: `${PARENT}/services/api/revisions/api-v2` });
    expect(rev.conditions?.[0]?.state).toBe('CONDITION_SUCCEEDED');
    expect(rev.containers?.[0]?.image).toBe('img:2');

    // Same revision name, different template: refused.
    const e: unknown = await c.services
      .updateService({ service: { ...service('img:3', { revision: 'api-v2' }), name: svc.name } })
      .catch((x: unknown) => x);
    expect(errStatus(e)).toBe('ALREADY_EXISTS');

    // Traffic must sum to 100.
    const e2: unknown = await c.services
      .updateService({
        service: {
          ...service('img:2'),
          name: svc.name,
          traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 50 }],
        },
      })
      .catch((x: unknown) => x);
    expect(errStatus(e2)).toBe('INVALID_ARGUMENT');

    const [list] = await c.services.listServices({ parent: PARENT });
    expect(list.map((s) => s.labels?.['mlform-name'])).toEqual(['api']);

    // A revision serving traffic cannot be deleted.
    const e3: unknown = await c.revisions
      .deleteRevision({ name: `${PARENT}/services/api/revisions/${first}` })
      .catch((x: unknown) => x);
    expect(errStatus(e3)).toBe('FAILED_PRECONDITION');

    const [del] = await c.services.deleteService({ name: svc.name });
    await del.promise();
    expect(fake.services()).toHaveLength(0);
    expect(fake.revisions()).toHaveLength(0);
  });

  it('an update whose revision fails readiness fails its LRO', async () => {
    await closeAll(fake, c);
    ({ fake, c } = await start({ failRevisionsWithImage: 'broken', operationDelayMs: 0 }));
    const [op] = await c.services.createService({
      parent: PARENT,
      serviceId: 'svc',
      service: service('ok:1'),
    });
    await op.promise();
    const [op2] = await c.services.updateService({
      service: { ...service('broken:2'), name: `${PARENT}/services/svc` },
    });
    await expect(op2.promise()).rejects.toThrow(/not ready/);
    const [svc] = await c.services.getService({ name: `${PARENT}/services/svc` });
    expect(svc.terminalCondition?.state).toBe('CONDITION_FAILED');
    expect(svc.latestReadyRevision).toMatch(/svc-00001-/);
  });

  it('allowMissing creates on update; duplicate create is 409', async () => {
    const [op] = await c.services.updateService({
      service: { ...service('x:1'), name: `${PARENT}/services/upsert` },
      allowMissing: true,
    });
    await op.promise();
    const e: unknown = await c.services
      .createService({ parent: PARENT, serviceId: 'upsert', service: service('x:1') })
      .catch((x: unknown) => x);
    expect(errStatus(e)).toBe('ALREADY_EXISTS');
    const e2: unknown = await c.services
      .updateService({ service: { ...service('x:1'), name: `${PARENT}/services/missing` } })
      .catch((x: unknown) => x);
    expect(errStatus(e2)).toBe('NOT_FOUND');
  });
});
