/**
 * The dashboard on a stack of 1,000 resources, served by the real controller (compiled build) and
 * the real built app (dist/web), measured in Debian's chromium:
 * - time to first meaningful paint (the frame after the first resource card is in the page) and to
 *   a complete overview (all 1,000 cards), from navigation start, median of several cold loads (a
 *   fresh browser context each: no cache);
 * - bytes shipped for `/`: index.html and the assets it references, as served with
 *   `accept-encoding: gzip`;
 * - the controller's extra memory (RSS and V8 heap after a full GC) with ten open dashboards, each
 *   holding its overview stream, against none, in the same process.
 * The stack: 1,000 generated RegisteredModel manifests the controller applies itself (`--dir`), as
 * in the controller bench; the overview then holds 1,000 cards.
 * Run: npm run bench -- ui   (BENCH_UI_LOADS, default 7; BENCH_UI_RESOURCES, default 1000)
 */
import { request } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchBrowser } from '../test/web/browser.js';
import { startController, type Controller } from './controller-latency.js';

const LOADS = Number(process.env.BENCH_UI_LOADS ?? 7);
const RESOURCES = Number(process.env.BENCH_UI_RESOURCES ?? 1000);
const DASHBOARDS = 10;

/** Loaded into the controller: on SIGUSR2, a full GC then process.memoryUsage() into a file. */
const MEMORY_PROBE = `import { writeFileSync } from 'node:fs';
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  writeFileSync(process.env.BENCH_MEMORY_FILE, JSON.stringify(process.memoryUsage()));
});`;

/** Marks, in page time, the frame after the first card appears and the one after the last. */
const PAINT_MARKS = `(() => {
  const marks = (window.__paint = {});
  const observer = new MutationObserver(() => {
    const cards = document.querySelectorAll('[data-testid=resource-card]').length;
    if (cards > 0 && marks.first === undefined) {
      marks.first = null;
      requestAnimationFrame(() => (marks.first = performance.now()));
    }
    if (cards >= ${RESOURCES} && marks.all === undefined) {
      marks.all = null;
      requestAnimationFrame(() => (marks.all = performance.now()));
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true });
})();`;

/** The controller with the memory probe loaded. */
function startProbedController(args: string[], memoryFile: string): Promise<Controller> {
  return startController(args, {
    BENCH_MEMORY_FILE: memoryFile,
    NODE_OPTIONS: `--expose-gc --import=data:text/javascript,${encodeURIComponent(MEMORY_PROBE)}`,
  });
}

async function writeStack(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'mlform.yaml'), 'stack: ui-bench\nprovider: local\n');
  for (let i = 0; i < RESOURCES; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, RESOURCES - i) }, (_, k) =>
        writeFile(
          join(dir, `model-${i + k}.yaml`),
          `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: model-${i + k}, labels: {team: t${(i + k) % 7}}}\nspec:\n  description: model ${i + k}\n`,
        ),
      ),
    );
  }
}

/** The raw (compressed) bytes of a GET, as a browser accepting gzip receives them. */
function rawGet(url: string): Promise<{ bytes: number; encoding: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({
          bytes: body.length,
          encoding: String(res.headers['content-encoding'] ?? 'identity'),
          body,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function bytesShipped(base: string): Promise<{ total: number; files: string[] }> {
  const index = await rawGet(`${base}/`);
  const html =
    index.encoding === 'gzip'
      ? (await import('node:zlib')).gunzipSync(index.body).toString()
      : index.body.toString();
  const assets = [...new Set([...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]))];
  const files = [`/ ${index.bytes} B (${index.encoding})`];
  let total = index.bytes;
  for (const asset of assets) {
    const r = await rawGet(`${base}${asset}`);
    total += r.bytes;
    files.push(`${asset.replace(/^\/assets\//, '')} ${r.bytes} B (${r.encoding})`);
  }
  return { total, files };
}

/** One cold load: a new context, navigation to `/`, until all cards are painted. */
async function load(browser: Browser, base: string): Promise<{ firstMs: number; allMs: number }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    await context.addInitScript(PAINT_MARKS);
    const page = await context.newPage();
    await page.goto(`${base}/`);
    // A function, not a string: the page's Content-Security-Policy forbids eval.
    const marks = await page.waitForFunction(
      () => {
        const paint = (globalThis as { __paint?: { first?: number | null; all?: number | null } }).__paint;
        return typeof paint?.all === 'number' ? { firstMs: paint.first ?? NaN, allMs: paint.all } : false;
      },
      undefined,
      { timeout: 60_000 },
    );
    return (await marks.jsonValue()) as { firstMs: number; allMs: number };
  } finally {
    await context.close();
  }
}

interface Memory {
  rssMb: number;
  heapMb: number;
}

/** The controller's memory after a full GC, read through the probe. */
async function memoryOf(controller: Controller, file: string): Promise<Memory> {
  await rm(file, { force: true });
  controller.child.kill('SIGUSR2');
  for (let i = 0; i < 100; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text) {
      const usage = JSON.parse(text) as { rss: number; heapUsed: number };
      return { rssMb: usage.rss / 2 ** 20, heapMb: usage.heapUsed / 2 ** 20 };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the controller did not write its memory usage');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const settle = () => new Promise((r) => setTimeout(r, 2000));

export async function runUiBench(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'mlform-ui-bench-'));
  const memoryFile = join(root, 'memory.json');
  let controller: Controller | undefined;
  let browser: Browser | undefined;
  try {
    await writeStack(join(root, 'stack'));
    controller = await startProbedController(
      [
        '--dir',
        join(root, 'stack'),
        '--workdir',
        join(root, 'work'),
        '--listen',
        '127.0.0.1:0',
        '--resync',
        '1h',
      ],
      memoryFile,
    );
    await controller.next((line) => line.msg === 'sync finished', 0, 300_000);
    const overview = await fetch(`${controller.url}/api/v1/overview?limit=1000`);
    const doc = (await overview.json()) as { counts: { total: number } };
    if (doc.counts.total !== RESOURCES)
      throw new Error(`expected ${RESOURCES} resources, got ${doc.counts.total}`);
    const shipped = await bytesShipped(controller.url);

    browser = await launchBrowser();
    await load(browser, controller.url); // warm-up: the server's first build of the document
    const loads: { firstMs: number; allMs: number }[] = [];
    for (let i = 0; i < LOADS; i++) loads.push(await load(browser, controller.url));

    await settle();
    const idle = await memoryOf(controller, memoryFile);
    // A context each, as ten people would: one browser profile opens at most 6 HTTP/1.1
    // connections to a host, and each open page holds one for its stream.
    const dashboards: BrowserContext[] = [];
    for (let i = 0; i < DASHBOARDS; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      dashboards.push(context);
      const page = await context.newPage();
      await page.goto(`${controller.url}/`);
      await page.locator('[data-testid=live][data-state=open]').waitFor({ timeout: 30_000 });
    }
    await settle();
    const open = await memoryOf(controller, memoryFile);
    for (const context of dashboards) await context.close();

    const ms = (x: number) => `${x.toFixed(0)} ms`;
    const first = loads.map((l) => l.firstMs);
    const all = loads.map((l) => l.allMs);
    return [
      '| measure | median | min | max | goal |',
      '| --- | --- | --- | --- | --- |',
      `| first resource card painted | **${ms(median(first))}** | ${ms(Math.min(...first))} | ${ms(Math.max(...first))} | < 1 s |`,
      `| all ${RESOURCES.toLocaleString('en')} cards painted | **${ms(median(all))}** | ${ms(Math.min(...all))} | ${ms(Math.max(...all))} | < 1 s |`,
      ...(median(first) === median(all)
        ? [
            '',
            'The overview renders in one pass once its document arrives: the first card and the last share a frame.',
          ]
        : []),
      '',
      `Bytes shipped for \`/\` (gzip accepted): **${(shipped.total / 1024).toFixed(1)} kB** (goal < 300 kB): ${shipped.files.join('; ')}.`,
      '',
      '| controller | RSS | V8 heap used (after a full GC) |',
      '| --- | --- | --- |',
      `| no dashboard open | ${idle.rssMb.toFixed(0)} MB | ${idle.heapMb.toFixed(1)} MB |`,
      `| ${DASHBOARDS} dashboards, each holding its overview stream | ${open.rssMb.toFixed(0)} MB | ${open.heapMb.toFixed(1)} MB |`,
      `| extra | **${(open.rssMb - idle.rssMb).toFixed(0)} MB** | **${(open.heapMb - idle.heapMb).toFixed(1)} MB** |`,
      '',
      `Stack: ${RESOURCES.toLocaleString('en')} generated RegisteredModel manifests that \`mlform controller --dir\` applies (local provider); the real server and the built app (dist/web), loaded on loopback in Debian's chromium ${browser.version()} (1280x800, headless). Each load is cold (a new browser context), timed from navigation start in the page; ${LOADS} loads after one warm-up. The ten dashboards are ten browser contexts, as ten people would open them: one browser profile opens at most 6 HTTP/1.1 connections to a host and each page's stream holds one. Load average during the run: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores.`,
    ].join('\n');
  } finally {
    await browser?.close();
    await controller?.stop();
    await rm(root, { recursive: true, force: true });
  }
}
