/**
 * No Docker engine runs here, so the images are never built in CI. This keeps their build stages in
 * step with the compiler: every source folder `tsconfig.build.json` compiles, and every folder of a script the build runs,
 * is copied in.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

async function buildFolders(): Promise<string[]> {
  const config = JSON.parse(await readFile(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
    include: string[];
  };
  // And the folders of the scripts `npm run build` runs (scripts/precompile-validators.mjs).
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: { build: string };
  };
  const scripts = [...pkg.scripts.build.matchAll(/\bnode\s+([\w-]+)\//g)].map((m) => m[1]);
  return [...config.include, ...scripts];
}

describe('deploy Dockerfiles', async () => {
  const images = (await readdir(join(ROOT, 'deploy'), { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const withDockerfile: string[] = [];
  for (const image of images) {
    const names = await readdir(join(ROOT, 'deploy', image));
    if (names.includes('Dockerfile')) withDockerfile.push(image);
  }

  it('finds the images', () => {
    expect(withDockerfile).toEqual(expect.arrayContaining(['controller', 'serving', 'trainer-gpu']));
  });

  it.each(withDockerfile)('%s copies every folder the build compiles', async (image) => {
    const text = await readFile(join(ROOT, 'deploy', image, 'Dockerfile'), 'utf8');
    const copied = new Set([...text.matchAll(/^COPY\s+([\w-]+)\s+\.\/\1\s*$/gm)].map((m) => m[1]));
    for (const folder of await buildFolders())
      expect(copied, `${image}: COPY ${folder} ./${folder}`).toContain(folder);
  });
});
