import { Storage } from '@google-cloud/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeGcp } from '../fakes/gcp/index.js';
import { closeAll, errCode, errMessage, start, type Clients } from './helpers.js';

describe('Cloud Storage JSON API', () => {
  let fake: FakeGcp;
  let c: Clients;
  beforeEach(async () => {
    ({ fake, c } = await start());
  });
  afterEach(async () => closeAll(fake, c));

  it('writes (multipart and resumable), reads, lists, patches and deletes', async () => {
    const b = c.storage.bucket('bkt');
    await b.file('runs/a/model.json').save('{"a":1}', {
      resumable: false,
      contentType: 'application/json',
      metadata: { metadata: { spec: 'h1' } },
    });
    await b.file('runs/a/weights.bin').save(Buffer.alloc(300_000, 7)); // resumable (the default)
    await b.file('runs/b/model.json').save('{"b":2}', { resumable: false });
    await b.file('top.txt').save('x', { resumable: false });
    expect(fake.count({ rpc: 'objects.insert' })).toBeGreaterThanOrEqual(5);

    const [data] = await b.file('runs/a/model.json').download();
    expect(data.toString()).toBe('{"a":1}');
    const [big] = await b.file('runs/a/weights.bin').download();
    expect(big.length).toBe(300_000);
    const [meta] = await b.file('runs/a/model.json').getMetadata();
    expect(meta.contentType).toBe('application/json');
    expect(meta.metadata).toEqual({ spec: 'h1' });
    expect(meta.size).toBe('7');
    expect(meta.generation).toBeTruthy();

    const [files, , apiResp] = await b.getFiles({ prefix: 'runs/', delimiter: '/', autoPaginate: false });
    expect(files).toHaveLength(0);
    expect((apiResp as { prefixes?: string[] }).prefixes).toEqual(['runs/a/', 'runs/b/']);
    const [under] = await b.getFiles({ prefix: 'runs/a/' });
    expect(under.map((f) => f.name)).toEqual(['runs/a/model.json', 'runs/a/weights.bin']);
    const [paged] = await b.getFiles({ maxResults: 2 });
    expect(paged).toHaveLength(2);
    const [all] = await b.getFiles();
    expect(all).toHaveLength(4);
    const [globbed] = await b.getFiles({ matchGlob: '**/model.json' });
    expect(globbed.map((f) => f.name)).toEqual(['runs/a/model.json', 'runs/b/model.json']);

    const [patched] = await b.file('runs/a/model.json').setMetadata({ metadata: { spec: 'h2', extra: 'y' } });
    expect(patched.metageneration).toBe('2');
    expect(patched.metadata).toEqual({ spec: 'h2', extra: 'y' });

    const [exists] = await b.file('top.txt').exists();
    expect(exists).toBe(true);
    await b.file('top.txt').delete();
    const [exists2] = await b.file('top.txt').exists();
    expect(exists2).toBe(false);
    expect(
      fake
        .objects('bkt')
        .map((o) => o.name)
        .sort(),
    ).toEqual(['runs/a/model.json', 'runs/a/weights.bin', 'runs/b/model.json']);
  });

  it('honours generation preconditions with 412', async () => {
    const f = c.storage.bucket('bkt').file('lock.json');
    await f.save('one', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    const err: unknown = await f
      .save('two', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })
      .catch((e: unknown) => e);
    expect(errCode(err)).toBe(412);
    expect(errMessage(err)).toContain('pre-conditions');
    const [meta] = await f.getMetadata();
    await f.save('three', {
      resumable: false,
      preconditionOpts: { ifGenerationMatch: Number(meta.generation) },
    });
    const [d] = await f.download();
    expect(d.toString()).toBe('three');
    const stale: unknown = await f
      .delete({ ifGenerationMatch: Number(meta.generation) })
      .catch((e: unknown) => e);
    expect(errCode(stale)).toBe(412);
    expect(fake.count({ api: 'storage', status: 412 })).toBe(2);
  });

  it('works through STORAGE_EMULATOR_HOST (what the trainer gets)', async () => {
    const prev = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = fake.url;
    try {
      const s = new Storage({ projectId: 'p' });
      await s.bucket('emu').file('a/b.txt').save('hello');
      const [d] = await s.bucket('emu').file('a/b.txt').download();
      expect(d.toString()).toBe('hello');
      const [files] = await s.bucket('emu').getFiles({ prefix: 'a/' });
      expect(files.map((f) => f.name)).toEqual(['a/b.txt']);
    } finally {
      if (prev === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = prev;
    }
  });

  it('seeds objects without HTTP', async () => {
    for (let i = 0; i < 1000; i++) fake.seed.object('many', `o/${String(i).padStart(4, '0')}`, `v${i}`);
    const [files] = await c.storage.bucket('many').getFiles({ prefix: 'o/' });
    expect(files).toHaveLength(1000);
    expect(fake.count({ rpc: 'objects.list' })).toBe(1);
  });
});
