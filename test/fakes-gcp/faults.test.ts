import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeGcp } from '../fakes/gcp/index.js';
import { RATE_LIMIT_MESSAGE } from '../fakes/gcp/index.js';
import { PARENT, closeAll, errCode, errMessage, errStatus, start, type Clients } from './helpers.js';

const customJob = (n: string) => ({
  displayName: n,
  labels: { 'mlform-name': n },
  jobSpec: {
    workerPoolSpecs: [
      {
        machineSpec: { machineType: 'n1-standard-4' },
        replicaCount: '1',
        containerSpec: { imageUri: 'img' },
      },
    ],
  },
});

describe('faults, latency and the request log', () => {
  let fake: FakeGcp;
  let c: Clients;
  beforeEach(async () => {
    ({ fake, c } = await start());
  });
  afterEach(async () => closeAll(fake, c));

  it('injects seeded 429/503 before the effect, counted in the log, and gax does not retry them', async () => {
    fake.setFaults({ rate: 0.5, kinds: ['429', '503'], seed: 42 });
    const outcomes: string[] = [];
    for (let i = 0; i < 30; i++) {
      try {
        await c.jobs.createCustomJob({ parent: PARENT, customJob: customJob(`j${i}`) });
        outcomes.push('ok');
      } catch (e) {
        outcomes.push(String(errCode(e)));
        if (errCode(e) === 429) {
          expect(errStatus(e)).toBe('RESOURCE_EXHAUSTED');
          expect(errMessage(e)).toContain("Quota exceeded for quota metric 'Requests'");
          expect(errMessage(e)).not.toContain('exceed quota limits');
        }
        if (errCode(e) === 503) expect(errStatus(e)).toBe('UNAVAILABLE');
      }
    }
    const faulted = fake.count({ rpc: 'CreateCustomJob', faulted: true });
    expect(faulted).toBeGreaterThan(5);
    expect(faulted).toBeLessThan(25);
    // Only the injected codes, both of them, each failure being one faulted request of that code.
    expect(new Set(outcomes)).toEqual(new Set(['ok', '429', '503']));
    for (const code of [429, 503] as const) {
      expect(outcomes.filter((o) => o === String(code)).length).toBe(
        fake.count({ rpc: 'CreateCustomJob', faulted: true, status: code }),
      );
    }
    expect(outcomes.filter((o) => o !== 'ok')).toHaveLength(faulted);
    // One HTTP request per call: no silent retries in fallback mode.
    expect(fake.count({ rpc: 'CreateCustomJob' })).toBe(30);
    // Faulted requests changed nothing.
    expect(fake.customJobs()).toHaveLength(outcomes.filter((o) => o === 'ok').length);
    expect(fake.count({ status: 429 }) + fake.count({ status: 503 })).toBe(faulted);
    expect(RATE_LIMIT_MESSAGE).toContain('Requests per minute');

    // Same seed, same sequence.
    const again = await start({ faults: { rate: 0.5, kinds: ['429', '503'], seed: 42 } });
    const outcomes2: string[] = [];
    for (let i = 0; i < 30; i++) {
      await again.c.jobs.createCustomJob({ parent: PARENT, customJob: customJob(`j${i}`) }).then(
        () => outcomes2.push('ok'),
        (e: unknown) => outcomes2.push(String(errCode(e))),
      );
    }
    expect(outcomes2).toEqual(outcomes);
    await closeAll(again.fake, again.c);
  });

  it('can answer a fault after the request took effect', async () => {
    fake.failNext({ kind: '503', rpc: 'CreateCustomJob', afterEffect: true });
    const e: unknown = await c.jobs
      .createCustomJob({ parent: PARENT, customJob: customJob('ghost') })
      .catch((x: unknown) => x);
    expect(errCode(e)).toBe(503);
    // ... yet the job exists: look it up before creating again.
    const [found] = await c.jobs.listCustomJobs({ parent: PARENT, filter: 'labels.mlform-name="ghost"' });
    expect(found).toHaveLength(1);
    expect(fake.requests.find((r) => r.faulted)?.faultedAfterEffect).toBe(true);
  });

  it('times out with 504 DEADLINE_EXCEEDED and adds latency', async () => {
    fake.failNext({ kind: 'timeout', rpc: 'GetCustomJob', timeoutMs: 150 });
    const t0 = Date.now();
    const e: unknown = await c.jobs.getCustomJob({ name: `${PARENT}/customJobs/1` }).catch((x: unknown) => x);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(errCode(e)).toBe(504);
    expect(errStatus(e)).toBe('DEADLINE_EXCEEDED');
    fake.setLatency(100);
    const t1 = Date.now();
    await c.jobs.listCustomJobs({ parent: PARENT });
    expect(Date.now() - t1).toBeGreaterThanOrEqual(95);
    fake.setLatency(0);
    fake.resetRequests();
    expect(fake.requests).toHaveLength(0);
    await c.storage.bucket('b').file('x').save('y', { resumable: false });
    expect(fake.count({ api: 'storage', rpc: 'objects.insert', method: 'POST' })).toBe(1);
  });

  it('answers 404 with a Google-shaped body for unknown routes', async () => {
    const res = await fetch(`${fake.url}/v1/nothing/here`);
    expect(res.status).toBe(404);
    const j = (await res.json()) as { error: { status: string } };
    expect(j.error.status).toBe('NOT_FOUND');
    expect(fake.count({ api: 'unknown' })).toBe(1);
  });
});
