/**
 * Tests that run a command in bubblewrap. They run wherever `bwrap` is installed, and always under
 * CI (`.ci/run` installs it), where a missing bwrap fails them instead of skipping them; on a
 * developer machine without it they are skipped, so `npm ci && npm test` works on a fresh machine.
 */
import { describe } from 'vitest';
import { findBwrap, NO_COMMANDS } from '../providers/local/sandbox.js';

export const bwrapInstalled = findBwrap(NO_COMMANDS, process.env) !== undefined;

export const describeWithSandbox = describe.skipIf(!bwrapInstalled && process.env.CI !== 'true');
