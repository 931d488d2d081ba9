/**
 * The browser app against fixture documents: each page's DOM hooks (common to the end-to-end
 * tests), charts drawn with the right number of points, live updates and reconnection, client
 * routing with back/forward, the login flow, keyboard reach and both colour schemes. Built once
 * with Vite into a temporary folder and served by a tiny server (fixture-server.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiDocument } from '../../../controller/web/api.js';
import { browserInstalled, launchBrowser } from '../browser.js';
import { fixture, largeOverview } from './fixtures.js';
import { startFixtureServer, type FixtureServer } from './fixture-server.js';

const OVERVIEW = '/api/v1/overview?limit=1000';
const RUN = '/api/v1/trainingruns/mpg-mlp';

function fixtureDocs(): Map<string, ApiDocument> {
  const overview = fixture('overview');
  const trainingRuns = {
    ...overview,
    items: overview.items.filter((i) => i.kind === 'TrainingRun'),
    matched: 2,
  };
  const schedules = fixture('schedules');
  return new Map<string, ApiDocument>([
    [OVERVIEW, overview],
    ['/api/v1/overview?kind=TrainingRun&limit=1000', trainingRuns],
    [
      '/api/v1/overview?kind=TrainingRun&q=broken&limit=1000',
      { ...trainingRuns, items: trainingRuns.items.slice(1) },
    ],
    ['/api/v1/plan', fixture('plan')],
    [RUN, fixture('trainingrun')],
    [`${RUN}?run=1`, fixture('trainingrun-run1')],
    ['/api/v1/registeredmodels/mpg', fixture('registeredmodel')],
    ['/api/v1/deployedendpoints/mpg-api', fixture('deployedendpoint')],
    ['/api/v1/schedules', schedules],
    ['/api/v1/schedules?name=mpg-nightly', { ...schedules, items: schedules.items.slice(0, 1), matched: 1 }],
    ['/api/v1/controller', fixture('controller')],
  ]);
}

let outDir: string;
let browser: Browser;
let server: FixtureServer;
let context: BrowserContext;

/** Opens a page of the app and waits for its first document. */
async function open(
  path: string,
  on: { context?: BrowserContext; server?: FixtureServer } = {},
): Promise<Page> {
  const page = await (on.context ?? context).newPage();
  await page.goto(`${(on.server ?? server).url}${path}`);
  await page.locator('main[data-loaded="true"]').waitFor();
  return page;
}

const texts = (page: Page, selector: string) => page.locator(selector).allTextContents();
const attrs = async (page: Page, selector: string, name: string) =>
  Promise.all((await page.locator(selector).all()).map((el) => el.getAttribute(name)));
/** Waits until the page has `n` elements matching `selector`. */
const awaitCount = (page: Page, selector: string, n: number) =>
  expect.poll(() => page.locator(selector).count()).toBe(n);
// Expressions evaluated in the page are strings: the test project's types have no DOM.
const inPage = <T>(page: Page, expression: string) => page.evaluate<T>(expression);

/** WCAG contrast ratio of two `#rrggbb` colours. */
function contrast(a: string, b: string): number {
  const luminance = (hex: string) => {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** Skipped where no chromium is installed, except under CI (.ci/run installs it). */
const describeWithBrowser = describe.skipIf(!browserInstalled && process.env.CI !== 'true');

describeWithBrowser('web app', () => {
  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'mlform-web-'));
    const [launched] = await Promise.all([
      launchBrowser(),
      build({
        configFile: fileURLToPath(new URL('../../../web/vite.config.ts', import.meta.url)),
        logLevel: 'silent',
        build: { outDir, emptyOutDir: true },
      }),
    ]);
    browser = launched;
    server = await startFixtureServer({ root: outDir, docs: fixtureDocs() });
    context = await browser.newContext();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
    await rm(outDir, { recursive: true, force: true });
  });

  it('overview: groups, cards with badges and links, counts, diagnostics, nav, live, same origin only', async () => {
    const requests: string[] = [];
    const page = await context.newPage();
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`${server.url}/`);
    await page.locator('main[data-loaded="true"]').waitFor();

    expect(await attrs(page, '[data-testid=resource-card]', 'data-address')).toEqual([
      'TrainingRun/mpg-mlp',
      'RegisteredModel/mpg',
      'DeployedEndpoint/mpg-api',
      'Schedule/mpg-nightly',
      'Schedule/mpg-weekly',
      'TrainingRun/broken',
    ]);
    expect(await attrs(page, '[data-testid=group]', 'data-group')).toEqual(['mpg', '']);
    // The application's tree reads left to right.
    expect(await texts(page, '[data-group=mpg] .lane-arrow .muted')).toEqual(['trains', 'served by']);
    const broken = page.locator('[data-testid=resource-card][data-address="TrainingRun/broken"]');
    expect(await broken.locator('[data-testid=sync-badge]').textContent()).toBe('OutOfSync');
    expect(await broken.locator('[data-testid=health-badge]').textContent()).toBe('Degraded');
    expect(await broken.textContent()).toContain("column 'hp' not found");
    expect(await texts(page, '[data-testid=health-badge]')).toEqual([
      'Progressing',
      'Healthy',
      'Healthy',
      'Healthy',
      'Suspended',
      'Degraded',
    ]);
    // Every badge has an icon beside its word.
    expect(await page.locator('.badge:has([data-testid]) .icon').count()).toBe(12);
    const hrefs = await attrs(page, '[data-testid=resource-card] a', 'href');
    expect(hrefs).toEqual([
      '/trainingruns/mpg-mlp',
      '/registeredmodels/mpg',
      '/deployedendpoints/mpg-api',
      '/schedules?name=mpg-nightly',
      '/schedules?name=mpg-weekly',
      '/trainingruns/broken',
    ]);
    expect(await page.locator('[data-testid=counts]').textContent()).toContain('2 TrainingRun');
    expect(await texts(page, '[data-testid=stack-diagnostic]')).toEqual([
      expect.stringContaining('quickstart/extra.yaml:7:11'),
    ]);
    expect(await attrs(page, 'nav a', 'href')).toEqual(['/', '/plan', '/schedules', '/controller']);
    await page.locator('[data-testid=live][data-state=open]').waitFor();
    expect(await page.locator('[data-testid=live]').textContent()).toContain('Live');
    expect(requests.every((url) => url.startsWith(`${server.url}/`))).toBe(true);
    await page.close();
  });

  it('overview filters are labelled, reflected in the URL, followed by the stream, and undone by Back', async () => {
    const page = await open('/');
    await page.getByLabel('Kind').selectOption('TrainingRun');
    await page.waitForURL(/\/\?kind=TrainingRun$/);
    await awaitCount(page, '[data-testid=resource-card]', 2);
    expect(server.streamed).toContain('/api/v1/overview?kind=TrainingRun&limit=1000');

    await page.getByLabel('Name').fill('broken');
    await page.waitForURL(/\?kind=TrainingRun&q=broken$/);
    await awaitCount(page, '[data-testid=resource-card]', 1);
    for (const label of ['Health', 'Sync', 'Label'])
      expect(await page.getByLabel(label, { exact: true }).count()).toBe(1);

    await page.goBack(); // the typed name replaced its history entry: Back undoes the kind
    await page.waitForURL(`${server.url}/`);
    await awaitCount(page, '[data-testid=resource-card]', 6);
    expect(await page.locator('select[name=kind]').inputValue()).toBe('');
    expect(await page.locator('input[name=q]').inputValue()).toBe('');
    await page.close();

    const deep = await open('/?kind=TrainingRun');
    expect(await deep.locator('select[name=kind]').inputValue()).toBe('TrainingRun');
    expect(await deep.locator('[data-testid=resource-card]').count()).toBe(2);
    await deep.close();
  });

  it('keyboard: the skip link comes first, Tab reaches every filter control, focus is visible', async () => {
    const page = await open('/');
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').textContent()).toBe('Skip to content');
    const reached: string[] = [];
    for (let i = 0; i < 30 && reached.length < 5; i++) {
      await page.keyboard.press('Tab');
      const name = await inPage<string | null>(
        page,
        "document.activeElement?.closest('.filters') ? document.activeElement.getAttribute('name') : null",
      );
      if (name && !reached.includes(name)) {
        reached.push(name);
        const outline = await inPage<string>(page, 'getComputedStyle(document.activeElement).outlineStyle');
        expect(outline).not.toBe('none');
      }
    }
    expect(reached).toEqual(['kind', 'health', 'sync', 'label', 'q']);
    await page.close();
  });

  it('overview renders 1,000 resources at once', async () => {
    const big = await startFixtureServer({ root: outDir, docs: new Map([[OVERVIEW, largeOverview(1000)]]) });
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(`${big.url}/`);
    await awaitCount(page, '[data-testid=resource-card]', 1000);
    const ms = Date.now() - started;
    console.log(`overview: 1,000 cards complete ${ms} ms after navigation`);
    expect(await page.locator('[data-testid=group]').count()).toBe(250);
    expect(ms).toBeLessThan(3000); // ~0.3-0.5 s here; slack for a loaded CI machine
    await page.close();
    await big.close();
  });

  it('plan: changes as a diff with actions, field rows before/after, drift, replacement, deferred', async () => {
    const page = await open('/plan');
    expect(await page.locator('[data-testid=plan-summary]').textContent()).toBe(
      'Plan: 2 to add, 1 to change, 1 to destroy, 1 to register; 1 in progress.',
    );
    expect(await attrs(page, '[data-testid=change]', 'data-action')).toEqual([
      'create',
      'update',
      'replace',
      'register',
      'wait',
    ]);
    const update = page.locator('[data-testid=change][data-address="DeployedEndpoint/mpg-api"]');
    const row = update.locator('[data-testid=field-diff][data-path="spec.traffic[0].percent"]');
    expect(await row.locator('.before').textContent()).toBe('- 90');
    expect(await row.locator('.after').textContent()).toBe('+ 100');
    expect(await update.textContent()).toContain('(drift)');
    const replace = page.locator('[data-testid=change][data-action=replace]');
    expect(await replace.textContent()).toContain('forces replacement');
    expect(await replace.locator('.symbol').textContent()).toBe('-/+');
    const register = page.locator('[data-testid=change][data-action=register]');
    expect(await register.locator('.after').textContent()).toBe('+ (known after training)');
    await page.close();
  });

  it('training run: state, progress, curves with baseline, log tail; live updates; run list and tuning', async () => {
    const page = await open('/trainingruns/mpg-mlp');
    expect(await page.locator('[data-testid=run-state]').textContent()).toBe('running');
    expect(await page.locator('[data-testid=run-progress]').textContent()).toMatch(
      /epoch 3\/10 · ETA 1 min 24 s/,
    );
    const charts = page.locator('[data-testid=curve-chart]');
    expect(await attrs(page, '[data-testid=curve-chart]', 'data-metric')).toEqual(['loss', 'mae']);
    expect(await attrs(page, '[data-testid=curve-chart]', 'data-series')).toEqual([
      'loss,val_loss',
      'mae,val_mae',
    ]);
    expect(await attrs(page, '[data-testid=curve-chart]', 'data-baseline')).toEqual(['', '5.2']);
    expect(await attrs(page, '[data-testid=curve-chart]', 'data-points')).toEqual(['3', '3']);
    expect(await charts.locator('canvas').count()).toBe(2);
    // The legend names train, validation and the dashed baseline.
    expect(await charts.nth(1).locator('.u-legend').textContent()).toContain('baseline val_mae');
    const log = page.locator('[data-testid=log-tail]');
    expect(await page.locator('pre[data-testid=log-tail]').count()).toBe(1);
    expect(await log.textContent()).toContain('<script>alert(1)</script> is text');
    expect(await page.locator('main script').count()).toBe(0);
    expect(await attrs(page, '[data-testid=run-row]', 'data-number')).toEqual(['2', '1']);

    // Live: a new epoch arrives on the open stream.
    const next = fixture('trainingrun');
    next.run!.progress!.epoch = 4;
    next.run!.curves.epochs.push(4);
    for (const series of next.run!.curves.series) series.values.push(series.values.at(-1)! * 0.9);
    next.run!.logTail.push('epoch 4/10 loss 11.07');
    server.push(RUN, next);
    await expect
      .poll(() => page.locator('[data-testid=curve-chart][data-metric=loss]').getAttribute('data-points'))
      .toBe('4');
    expect(await page.locator('[data-testid=run-progress]').textContent()).toContain('epoch 4/10');
    expect(await log.textContent()).toContain('epoch 4/10 loss 11.07');

    // The run list links to ?run=N, routed in the page.
    await page.locator('[data-testid=run-row][data-number="1"] a').click();
    await page.waitForURL(/\/trainingruns\/mpg-mlp\?run=1$/);
    await expect.poll(() => page.locator('[data-testid=run-state]').textContent()).toBe('succeeded');
    expect(server.streamed).toContain(`${RUN}?run=1`);
    expect(await attrs(page, '[data-testid=curve-chart]', 'data-points')).toEqual(['5', '5']);
    const health = page.locator('[data-testid=health-panel]');
    expect(await health.textContent()).toContain('dense_1');
    expect(await health.textContent()).toContain('6.25%');
    expect(await page.locator('[data-testid=artifact-uri]').textContent()).toBe(
      '/var/lib/mlform/state/artifacts/mpg-mlp-1',
    );
    expect(
      await page.locator('a [data-testid=tensorboard-dir], a[data-testid=tensorboard-dir]').count(),
    ).toBe(0);
    expect(await attrs(page, '[data-testid=trial-row]', 'data-trial')).toEqual(['0', '1', '2', '3']);
    expect(await attrs(page, '[data-testid=trial-row][data-best=true]', 'data-trial')).toEqual(['1']);
    expect(await attrs(page, '[data-testid=trial-row][data-state=pruned]', 'data-trial')).toEqual(['2']);
    expect(await page.locator('[data-testid=trial-plot]').getAttribute('data-points')).toBe('4');
    expect(await page.locator('[data-testid=trial-plot] .trial.best').count()).toBe(1);
    expect(await page.locator('[data-testid=trial-plot] .trial.pruned').count()).toBe(1);
    await page.getByRole('button', { name: /val_mae/ }).click(); // sort by the objective
    expect(await attrs(page, '[data-testid=trial-row]', 'data-trial')).toEqual(['1', '3', '0', '2']);

    await page.goBack();
    await expect.poll(() => page.locator('[data-testid=run-state]').textContent()).toBe('running');
    await page.close();
  });

  it('registered model: versions with aliases, gate, lineage; metric chart; alias history; refused run', async () => {
    const page = await open('/registeredmodels/mpg');
    expect(await attrs(page, '[data-testid=version-row]', 'data-version')).toEqual(['3', '2', '1']);
    const v2 = page.locator('[data-testid=version-row][data-version="2"]');
    const text = await v2.textContent();
    for (const part of ['prod', '2.31', 'passed', '2b2c3d4', '0f1e2d3c4b5a', 'mpg-api 90%'])
      expect(text).toContain(part);
    expect(await v2.locator('a[href="/trainingruns/mpg-mlp?run=2"]').count()).toBe(1);
    expect(await page.locator('[data-testid=version-row][data-version="3"]').textContent()).toContain(
      'failed',
    );
    const chart = page.locator('[data-testid=metric-chart]');
    expect(await chart.getAttribute('data-metric')).toBe('val_mae');
    expect(await chart.getAttribute('data-points')).toBe('3');
    expect(await chart.locator('canvas').count()).toBe(1);
    expect(await page.locator('[data-testid=alias-history]').textContent()).toContain('(was v1)');
    expect(await page.locator('[data-testid=rejected]').textContent()).toContain('mpg-mlp#3');
    expect(await page.locator('[data-testid=rejected] a').getAttribute('href')).toBe(
      '/trainingruns/mpg-mlp?run=3',
    );
    await page.close();
  });

  it('endpoint: URL, traffic bar by percent, readiness, serving metrics, a sample request sent', async () => {
    const page = await open('/deployedendpoints/mpg-api');
    expect(await page.locator('[data-testid=endpoint-url]').textContent()).toBe(
      'http://127.0.0.1:8501/v1/models/mpg',
    );
    const segments = page.locator('[data-testid=traffic-segment]');
    expect(await attrs(page, '[data-testid=traffic-segment]', 'data-percent')).toEqual(['90', '10']);
    expect(await segments.locator('.segment-label').allTextContents()).toEqual(['v2 90%', 'v1 10%']);
    const [wide, narrow] = await Promise.all([segments.nth(0).boundingBox(), segments.nth(1).boundingBox()]);
    expect(wide!.width).toBeGreaterThan(narrow!.width * 5);
    expect(await page.locator('[data-testid=readiness]').textContent()).toContain('Ready');
    const serving = await page.locator('[data-testid=serving-metrics]').textContent();
    expect(serving).toContain('4.5 req/s');
    expect(serving).toContain('1.2 / 3.4 / 7.9 ms');

    const body = page.getByLabel('Request body');
    expect(await body.inputValue()).toContain('"instances"');
    await body.fill('{"instances": [[4, 97, 88, 2130, 14.5, 71, 3]]}');
    await page.locator('button[name=send-request]').click();
    await page.locator('[data-testid=sample-response] pre').waitFor();
    const response = await page.locator('[data-testid=sample-response]').textContent();
    expect(response).toContain('200');
    expect(response).toContain('3.25 ms');
    expect(response).toContain('predictions');
    expect(server.predicted).toEqual(['{"instances": [[4, 97, 88, 2130, 14.5, 71, 3]]}']);

    // An endpoint the proxy cannot reach: Send is disabled and says why.
    server.push('/api/v1/deployedendpoints/mpg-api', {
      ...fixture('deployedendpoint'),
      canSend: false,
      sendNote: 'gcp endpoints are not proxied',
    });
    await expect.poll(() => page.locator('button[name=send-request]').isDisabled()).toBe(true);
    expect(await page.locator('#send-note').textContent()).toBe('gcp endpoints are not proxied');
    await page.close();
  });

  it('schedules: rows, suspended marked, next fires in their zone, timeline, runs; ?name= filters', async () => {
    const page = await open('/schedules');
    expect(await attrs(page, '[data-testid=schedule-row]', 'data-name')).toEqual([
      'mpg-nightly',
      'mpg-weekly',
    ]);
    const weekly = page.locator('[data-testid=schedule-row][data-name=mpg-weekly]');
    expect(await weekly.getAttribute('data-suspended')).toBe('true');
    expect(await weekly.locator('h2').textContent()).toContain('Suspended');
    const nightly = page.locator('[data-testid=schedule-row][data-name=mpg-nightly]');
    expect(await nightly.getAttribute('data-suspended')).toBe('false');
    const fires = nightly.locator('[data-testid=next-fire]');
    expect(await fires.count()).toBe(6);
    expect(await fires.first().textContent()).toBe('2026-12-06 03:00 CET');
    expect(await fires.first().getAttribute('title')).toBe('2026-12-06T02:00:00.000Z');
    expect(await page.locator('[data-testid=schedule-timeline] line.tick').count()).toBe(7);
    expect(await page.locator('[data-testid=schedule-timeline] .suspended line.tick').count()).toBe(1);
    expect(await nightly.locator('[data-testid=schedule-run] a').getAttribute('href')).toBe(
      '/trainingruns/mpg-mlp?run=1',
    );
    await page.close();

    const one = await open('/schedules?name=mpg-nightly');
    expect(await attrs(one, '[data-testid=schedule-row]', 'data-name')).toEqual(['mpg-nightly']);
    // The timeline pages on to the next window, the name filter kept.
    await one.getByRole('link', { name: 'Later →' }).click();
    await one.waitForURL(/\/schedules\?name=mpg-nightly&from=2026-12-12T04%3A00%3A00.000Z$/);
    await expect
      .poll(() => server.streamed.at(-1))
      .toBe('/api/v1/schedules?name=mpg-nightly&from=2026-12-12T04%3A00%3A00.000Z');
    await one.close();
  });

  it('controller: commit, last sync, errors with file:line, backoff rows', async () => {
    const page = await open('/controller');
    const commit = page.locator('[data-testid=controller-commit]');
    expect(await commit.textContent()).toBe('f00dfee');
    expect(await commit.getAttribute('title')).toBe('f00dfeedcafebabe0123456789abcdef01234567');
    expect(await page.locator('[data-testid=last-sync]').textContent()).toContain('synced');
    expect(await texts(page, '[data-testid=error-item]')).toEqual([
      expect.stringContaining('quickstart/broken.yaml:3:1'),
      expect.stringContaining('quickstart/extra.yaml:7:11'),
    ]);
    expect(await attrs(page, '[data-testid=backoff-row]', 'data-address')).toEqual(['TrainingRun/broken']);
    await page.close();
  });

  it('live: a problem event is shown beside the document, and a dropped stream reconnects', async () => {
    const page = await open('/controller');
    await page.locator('[data-testid=live][data-state=open]').waitFor();
    server.problem('/api/v1/controller', { error: 'state read failed', hint: 'check the state directory' });
    await page.locator('[data-testid=problem]').waitFor();
    expect(await page.locator('[data-testid=problem]').textContent()).toContain('check the state directory');
    const before = server.streamed.length;
    server.dropStreams();
    await page.locator('[data-testid=live]:not([data-state=open])').waitFor();
    await page.locator('[data-testid=live][data-state=open]').waitFor({ timeout: 5000 });
    expect(server.streamed.length).toBeGreaterThan(before);
    expect(await page.locator('[data-testid=controller-commit]').textContent()).toBe('f00dfee');
    await page.close();
  });

  it('a hidden tab closes its stream (browsers allow six connections per host) and reopens it when shown', async () => {
    const page = await open('/controller');
    await page.locator('[data-testid=live][data-state=open]').waitFor();
    const setVisibility = (state: 'hidden' | 'visible') =>
      page.evaluate((value) => {
        const doc = (globalThis as unknown as { document: EventTarget }).document;
        Object.defineProperty(doc, 'visibilityState', { configurable: true, get: () => value });
        doc.dispatchEvent(new Event('visibilitychange'));
      }, state);
    await setVisibility('hidden');
    await page.locator('[data-testid=live][data-state=paused]').waitFor();
    await expect.poll(() => server.openStreams()).toBe(0);
    const before = server.streamed.length;
    await setVisibility('visible');
    await page.locator('[data-testid=live][data-state=open]').waitFor();
    expect(server.streamed.length).toBe(before + 1);
    await page.close();
  });

  it('unknown paths show a not-found page; unknown resources show the API error', async () => {
    const page = await open('/nope/at/all');
    expect(await page.locator('[data-testid=not-found]').textContent()).toContain('/nope/at/all');
    await page.goto(`${server.url}/trainingruns/mpg-mpl`);
    await page.locator('[data-testid=api-error]').waitFor();
    expect(await page.locator('[data-testid=api-error]').textContent()).toContain('try mpg-mlp');
    await page.close();
  });

  it('login: a 401 asks for the bearer token, which is kept in sessionStorage and sent', async () => {
    const guarded = await startFixtureServer({ root: outDir, docs: fixtureDocs(), token: 's3cret' });
    const page = await context.newPage();
    await page.goto(`${guarded.url}/`);
    await page.locator('form[data-testid=login]').waitFor();
    expect(await page.locator('main').getAttribute('data-loaded')).toBe('false');
    await page.getByLabel('Bearer token').fill('wrong');
    await page.locator('form[data-testid=login] button[type=submit]').click();
    await page.locator('form[data-testid=login] [role=alert]').waitFor(); // refused: asked again, saying so
    await page.getByLabel('Bearer token').fill('s3cret');
    await page.locator('form[data-testid=login] button[type=submit]').click();
    await page.locator('main[data-loaded="true"]').waitFor();
    expect(await page.locator('[data-testid=resource-card]').count()).toBe(6);
    expect(await inPage(page, "sessionStorage.getItem('mlform.token')")).toBe('s3cret');
    // Client navigation keeps the token.
    await page.locator('nav a[href="/plan"]').click();
    await page.locator('[data-testid=change]').first().waitFor();
    await page.close();
    await guarded.close();
  });

  it('every page runs under the content security policy without an error', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/`);
    await page.locator('main[data-loaded="true"]').waitFor();
    for (const href of [
      '/plan',
      '/trainingruns/mpg-mlp?run=1',
      '/registeredmodels/mpg',
      '/deployedendpoints/mpg-api',
      '/schedules',
      '/controller',
    ]) {
      // Client navigation, as a person clicks through: the same document, new streams.
      await page.evaluate(
        `history.pushState(null, '', ${JSON.stringify(href)}); dispatchEvent(new PopStateEvent('popstate'))`,
      );
      await page.locator('main[data-loaded="true"]').waitFor();
      await page.locator('h1').first().waitFor();
    }
    await page.locator('[data-testid=controller-commit]').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it.each(['light', 'dark'] as const)('renders in the %s colour scheme', async (colorScheme) => {
    const themed = await browser.newContext({ colorScheme });
    const page = await open('/', { context: themed });
    const colours = await inPage(
      page,
      '(({ backgroundColor, color }) => ({ bg: backgroundColor, fg: color }))(getComputedStyle(document.body))',
    );
    expect(colours).toEqual(
      colorScheme === 'dark'
        ? { bg: 'rgb(13, 17, 23)', fg: 'rgb(230, 237, 243)' }
        : { bg: 'rgb(247, 248, 250)', fg: 'rgb(27, 31, 36)' },
    );
    expect(await page.locator('[data-testid=resource-card]').count()).toBe(6);
    // WCAG AA (4.5:1) for every text colour on the backgrounds it is used on.
    const names = [
      'text',
      'text-muted',
      'link',
      'ok',
      'warn',
      'bad',
      'bg',
      'surface',
      'neutral-bg',
      'ok-bg',
      'warn-bg',
      'bad-bg',
    ];
    const palette = await inPage<Record<string, string>>(
      page,
      `Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, getComputedStyle(document.documentElement).getPropertyValue('--' + n).trim()]))`,
    );
    for (const value of Object.values(palette)) expect(value).toMatch(/^#[0-9a-f]{6}$/i);
    const pairs = [
      ...['text', 'text-muted', 'link', 'ok', 'warn', 'bad'].flatMap((fg) => [
        [fg, 'bg'],
        [fg, 'surface'],
      ]),
      ['text', 'neutral-bg'],
      ['text-muted', 'neutral-bg'],
      ['ok', 'ok-bg'],
      ['warn', 'warn-bg'],
      ['bad', 'bad-bg'],
      ['text', 'bad-bg'],
    ];
    const low = pairs
      .map(([fg, bg]) => ({ pair: `${fg} on ${bg}`, ratio: contrast(palette[fg!]!, palette[bg!]!) }))
      .filter((p) => p.ratio < 4.5);
    expect(low).toEqual([]);
    await themed.close();
  });
});
