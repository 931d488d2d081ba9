import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifests } from '../../manifests/load.js';

// Generated at run time: binary and 10 MB files do not belong in git.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-files-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function firstError(name: string, content: Uint8Array | string) {
  const file = join(dir, name);
  await writeFile(file, content);
  const { diagnostics } = await loadManifests([file]);
  const error = diagnostics.find((d) => d.severity === 'error');
  expect(error?.file).toBe(file);
  return error;
}

describe('files that are not manifests', () => {
  it('a binary file is refused at the NUL byte', async () => {
    const bytes = Buffer.concat([
      Buffer.from('kind: TrainingRun\nname: '),
      Buffer.from([0x00, 0x01, 0xff, 0x89]),
    ]);
    const e = await firstError('binary.yaml', bytes);
    expect(e).toMatchObject({ code: 'binary-file', line: 2, col: 7 });
    expect(e?.message).toBe(`${join(dir, 'binary.yaml')} looks binary (NUL byte at offset 24), not YAML`);
  });

  it('a non-UTF-8 file is refused at the first bad byte', async () => {
    // "café" in Latin-1: 0xE9 is not valid UTF-8 on its own.
    const bytes = Buffer.concat([
      Buffer.from('apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: caf'),
      Buffer.from([0xe9, 0x7d, 0x0a]),
    ]);
    const e = await firstError('latin1.yaml', bytes);
    expect(e).toMatchObject({ code: 'invalid-utf8', line: 3, col: 21, hint: 'save the file as UTF-8' });
    expect(e?.message).toBe(`${join(dir, 'latin1.yaml')} is not valid UTF-8 (byte 0xe9 at offset 64)`);
  });

  it('a 10 MB file is refused without being parsed', async () => {
    const line = '# padding padding padding padding padding padding padding padding padding padding\n';
    const e = await firstError('huge.yaml', line.repeat(Math.ceil((10 * 1024 * 1024) / line.length)));
    expect(e).toMatchObject({ code: 'file-too-large', line: 1, col: 1 });
    expect(e?.message).toBe(`${join(dir, 'huge.yaml')} is 10.0 MiB; manifest files are limited to 4 MiB`);
  });

  it('a UTF-8 byte order mark is accepted', async () => {
    const file = join(dir, 'bom.yaml');
    await writeFile(file, '\ufeffapiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: mpg}\n');
    const { desired, diagnostics } = await loadManifests([file]);
    expect(diagnostics).toEqual([]);
    expect(desired.resources.map((r) => r.address)).toEqual(['RegisteredModel/mpg']);
  });

  it('a missing path is reported, not thrown', async () => {
    const { diagnostics } = await loadManifests([join(dir, 'nope')]);
    expect(diagnostics[0]).toMatchObject({
      code: 'path-not-found',
      message: `no such file or directory: ${join(dir, 'nope')}`,
    });
  });
});
