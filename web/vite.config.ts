/**
 * Builds the dashboard into dist/web (shipped in the npm package; served by `mlform controller`
 * and `mlform ui` with no network access at run time). Preact's JSX through esbuild; no plugin.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // One small app: a single chunk is fetched faster than a waterfall of them.
    chunkSizeWarningLimit: 400,
  },
});
