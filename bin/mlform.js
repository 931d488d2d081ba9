#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run automatically by `npm ci`).
import { run } from '../dist/controller/cli/entry.js';
import { installProcessGuard } from '../dist/controller/cli/process-guard.js';

const report = installProcessGuard();

// `mlform logs ... | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

run(process.argv).then((code) => {
  process.exitCode = code;
}, report);
