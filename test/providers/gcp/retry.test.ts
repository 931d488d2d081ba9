/**
 * The one retry path of the gcp provider (providers/gcp/call.ts): the backoff (`delayFor`), the
 * retryable classification, the loop (`withRetries`), and a create whose lost response is looked
 * up before the next attempt (`lookUpAfterFailure`), against the fake.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  classifyError,
  createCaller,
  delayFor,
  DEFAULT_RETRY,
  GcpCallError,
  isRetryable,
  isRetryableKind,
  withRetries,
  type ErrorKind,
  type RetryPolicy,
} from '../../../providers/gcp/call.js';
import { customJobBody, type VertexJob } from '../../../providers/gcp/jobs.js';
import { LABEL, parentOf } from '../../../providers/gcp/names.js';
import { listJobs } from '../../../providers/gcp/runs.js';
import { harness, type Harness } from './helpers.js';
import { gcsRunSpec, succeededRun } from './run-fixtures.js';

/** A policy whose waits are recorded instead of slept. */
function recordingPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy & { slept: number[] } {
  const slept: number[] = [];
  return {
    ...DEFAULT_RETRY,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    random: () => 0.5,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    ...overrides,
    slept,
  };
}

const failure = (kind: ErrorKind, retryable = isRetryableKind(kind)) =>
  new GcpCallError('aiplatform', 'CreateCustomJob', { kind, retryable, message: kind }, 1);

describe('delayFor', () => {
  it('doubles the ceiling from the base with each failed attempt, up to the cap', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.5 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => delayFor(policy, n))).toEqual([50, 100, 200, 400, 500, 500, 500]);
  });

  it('draws the wait uniformly below the ceiling (full jitter): 0 at the bottom, never the ceiling', () => {
    const ceiling = (n: number) => Math.min(1000, 100 * 2 ** (n - 1));
    for (let n = 1; n <= 6; n++) {
      expect(delayFor({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0 }, n)).toBe(0);
      const top = delayFor({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 1 - Number.EPSILON }, n);
      expect(top).toBe(ceiling(n) - 1);
      for (let i = 0; i < 50; i++) {
        const d = delayFor({ baseDelayMs: 100, maxDelayMs: 1000, random: Math.random }, n);
        expect(Number.isInteger(d) && d >= 0 && d < ceiling(n)).toBe(true);
      }
    }
  });
});

describe('retryable classification', () => {
  it('retries rate limits, unavailability, timeouts and internal errors, and nothing else', () => {
    const kinds: ErrorKind[] = [
      'rate-limited',
      'unavailable',
      'timeout',
      'internal',
      'capacity',
      'not-found',
      'already-exists',
      'precondition',
      'permission',
      'unauthenticated',
      'invalid',
      'cancelled',
      'other',
    ];
    expect(kinds.filter(isRetryableKind)).toEqual(['rate-limited', 'unavailable', 'timeout', 'internal']);
  });

  it('a thrown error is retryable only as a classified call failure of a retryable kind', () => {
    const classified = (e: unknown) => new GcpCallError('run', 'ListServices', classifyError('run', e), 1);
    expect(isRetryable(classified(Object.assign(new Error('down'), { code: 503 })))).toBe(true);
    expect(isRetryable(classified(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })))).toBe(
      true,
    );
    expect(isRetryable(classified(Object.assign(new Error('bad'), { code: 400 })))).toBe(false);
    expect(isRetryable(classified(Object.assign(new Error('taken'), { code: 409 })))).toBe(false);
    // Unclassified errors (a bug in our own code) are never retried.
    expect(isRetryable(Object.assign(new Error('down'), { code: 503 }))).toBe(false);
  });
});

/** An attempt that always fails with `err` (after `before`), counting its calls. */
function failingAttempt(err: GcpCallError, before: () => void = () => undefined) {
  const attempt = Object.assign(
    (): Promise<never> => {
      attempt.calls++;
      before();
      return Promise.reject(err);
    },
    { calls: 0 },
  );
  return attempt;
}

describe('withRetries', () => {
  it('retries a retryable failure with the backoff until the attempts run out, then throws it', async () => {
    const policy = recordingPolicy();
    const err = failure('unavailable');
    const attempt = failingAttempt(err);
    await expect(withRetries(policy, attempt, { maxAttempts: 4 })).rejects.toBe(err);
    expect(attempt.calls).toBe(4);
    expect(policy.slept).toEqual([1, 2, 3].map((n) => delayFor(policy, n)));
  });

  it('throws a final failure at once', async () => {
    const policy = recordingPolicy();
    const attempt = failingAttempt(failure('capacity'));
    await expect(withRetries(policy, attempt, { maxAttempts: 6 })).rejects.toMatchObject({
      kind: 'capacity',
    });
    expect(attempt.calls).toBe(1);
    expect(policy.slept).toEqual([]);
  });

  it('looks up after the backoff and before the next attempt; a found value ends the retries', async () => {
    const policy = recordingPolicy();
    const events: string[] = [];
    policy.sleep = (ms) => {
      events.push(`sleep ${ms}`);
      return Promise.resolve();
    };
    const value = await withRetries(
      policy,
      (n) => {
        events.push(`attempt ${n}`);
        return Promise.reject(failure('timeout'));
      },
      {
        maxAttempts: 6,
        lookUpAfterFailure: () => {
          events.push('look up');
          return Promise.resolve(events.length > 5 ? 'found' : undefined);
        },
      },
    );
    expect(value).toBe('found');
    expect(events).toEqual(['attempt 1', 'sleep 50', 'look up', 'attempt 2', 'sleep 100', 'look up']);
  });

  it('stops retrying once the signal aborted', async () => {
    const policy = recordingPolicy();
    const controller = new AbortController();
    const attempt = failingAttempt(failure('unavailable'), () => controller.abort(new Error('lock lost')));
    await expect(
      withRetries(policy, attempt, { maxAttempts: 6, signal: controller.signal }),
    ).rejects.toMatchObject({
      kind: 'unavailable',
    });
    expect(attempt.calls).toBe(1);
  });
});

describe('a call with complete', () => {
  it('a retryable failure of the completion (the operation) fails the attempt: the request is sent again', async () => {
    const policy = recordingPolicy();
    const call = createCaller(policy);
    const sent: number[] = [];
    const result = await call(
      'aiplatform',
      'UploadModel',
      () => Promise.resolve(sent.push(sent.length + 1)),
      {
        complete: (n) =>
          n === 1 ? Promise.reject(failure('internal')) : Promise.resolve(`version from request ${n}`),
      },
    );
    expect(result).toBe('version from request 2');
    expect(sent).toEqual([1, 2]);
    expect(policy.slept).toEqual([delayFor(policy, 1)]);
  });
});

describe('lookUpAfterFailure against the fake', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** CreateCustomJob for run `lost#1`, looked up by its labels after a failure. */
  async function createWithLookUp(
    target: Harness,
  ): Promise<{ job: VertexJob; lookUps: { found: boolean }[] }> {
    const gcp = target.provider.gcp;
    const input = {
      stack: 'demo',
      name: 'lost',
      number: 1,
      spec: gcsRunSpec,
      specHash: 'c'.repeat(64),
      attempt: 1,
    };
    const body = customJobBody(gcp.settings, gcp.layout('demo'), { ...input, labels: {}, annotations: {} });
    const lookUps: { found: boolean }[] = [];
    const job = await gcp.call(
      'aiplatform',
      'CreateCustomJob',
      async (opts): Promise<VertexJob> =>
        (
          await gcp.clients.jobs.createCustomJob(
            { parent: parentOf(gcp.settings.project, gcp.settings.trainingRegion), customJob: body },
            opts,
          )
        )[0],
      {
        lookUpAfterFailure: async () => {
          const [found] = await listJobs(gcp, `labels.${LABEL.name}="lost" AND labels.${LABEL.run}="1"`);
          lookUps.push({ found: found !== undefined });
          return found;
        },
      },
    );
    return { job, lookUps };
  }

  it.each([
    {
      title: 'a create whose response was lost after it landed ends as success with that job, sent once',
      afterEffect: true,
      sent: 1,
    },
    {
      title: 'a create that failed before it landed is looked up, not found, and sent again',
      afterEffect: false,
      sent: 2,
    },
  ])('$title', async ({ afterEffect, sent }) => {
    h = await harness();
    h.fake.failNext({ kind: '503', rpc: 'CreateCustomJob', afterEffect });
    const { job, lookUps } = await createWithLookUp(h);
    expect(lookUps).toEqual([{ found: afterEffect }]);
    expect(h.fake.count({ rpc: 'CreateCustomJob' })).toBe(sent);
    const jobs = h.fake.customJobs();
    expect(jobs).toHaveLength(1);
    expect(job.name).toBe(jobs[0].name);
  });
});

describe('UploadModel through the same path', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('a lost upload response is looked up: the version it made is returned, none is added', async () => {
    h = await harness();
    const models = h.provider.registeredModels;
    // The first version (UploadModel with modelId), then a later one (with parentModel).
    for (const number of [1, 2]) {
      h.fake.failNext({ kind: '503', rpc: 'UploadModel', afterEffect: true });
      const registered = await models.registerVersion(h.ctx, { model: 'mpg', run: succeededRun(number) });
      expect(registered.diagnostics).toEqual([]);
      expect(registered.version).toMatchObject({ version: number, run: { number } });
      expect(h.fake.count({ rpc: 'UploadModel' })).toBe(number);
    }
    // Every version the registry holds: one per run.
    expect(h.fake.models().map((m) => (m.labels as Record<string, string>)['mlform-run-number'])).toEqual([
      '1',
      '2',
    ]);
  });

  it('an upload that failed before it landed is sent again after the look-up finds nothing', async () => {
    h = await harness();
    h.fake.failNext({ kind: '429', rpc: 'UploadModel' });
    const registered = await h.provider.registeredModels.registerVersion(h.ctx, {
      model: 'mpg',
      run: succeededRun(1),
    });
    expect(registered.diagnostics).toEqual([]);
    expect(registered.version).toMatchObject({ version: 1 });
    expect(h.fake.count({ rpc: 'UploadModel' })).toBe(2);
  });
});
