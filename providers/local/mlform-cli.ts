/**
 * The mlform CLI as the local provider launches it: `node bin/mlform.js train|serve ...`. Trainings
 * and serving processes run the same entry points a user runs by hand, so what the provider starts
 * is reproducible from a shell.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAUNCH_ID_FLAG, LISTEN_FD } from './processes.js';

/**
 * `bin/mlform.js` of this package: the nearest ancestor folder that has it. This module lives in
 * `providers/local/` (source, via tsx or vitest) or `dist/providers/local/` (built), so walking up
 * finds the repository root either way.
 */
export function findCliPath(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'bin', 'mlform.js');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(
    `cannot find bin/mlform.js above ${fileURLToPath(from)}; pass cliPath to the local provider`,
  );
}

/**
 * Arguments after the node binary. `outDir` is also the marker that identifies the process, with
 * `launchId` (processes.ts). The spec goes in a file (mode 0600), never on the command line, which
 * every user of the machine can read (`ps`).
 */
export const trainArgs = (cliPath: string, specFile: string, outDir: string, launchId: string): string[] => [
  cliPath,
  'train',
  '--spec-file',
  specFile,
  '--out',
  outDir,
  '--json',
  LAUNCH_ID_FLAG,
  launchId,
];

/**
 * `configPath` is also the marker that identifies the process, with `launchId`. The server listens
 * on the socket the provider bound and passes as descriptor LISTEN_FD; `--port` only tells a
 * reader of `ps` which port that is.
 */
export const serveArgs = (cliPath: string, configPath: string, port: number, launchId: string): string[] => [
  cliPath,
  'serve',
  '--config',
  configPath,
  '--listen-fd',
  String(LISTEN_FD),
  '--port',
  String(port),
  '--host',
  '127.0.0.1',
  LAUNCH_ID_FLAG,
  launchId,
];

/**
 * Variables `mlform serve` reads as fallbacks; a user's shell that happens to set them must not
 * rename the model or move the port of an endpoint the config describes.
 */
export const SERVE_ENV_OVERRIDES = ['PORT', 'MODEL_NAME', 'MODEL_URI'] as const;

/** Likewise for `mlform train`: the spec and output come from arguments. */
export const TRAIN_ENV_OVERRIDES = ['MLFORM_SPEC_JSON', 'MLFORM_OUTPUT_BASE', 'CLOUD_ML_JOB_ID'] as const;
