/**
 * The web console in a real browser: Debian's chromium, driven by playwright-core, against a
 * real daemon (`sluice daemon` as a child process with the local executor, so a spout and two
 * pipelines run real user code), with data made through the CLI binary. Checks that the DAG
 * shows a spout feeding a pipeline, that a commit made through the CLI appears on the repo page
 * without a reload, that file previews match the files, that a failing datum's log line is
 * visible, and that a reader's token sees no write buttons (and an admin's does).
 *
 * Without chromium the suite skips, or fails when REQUIRE_SERVICES=1 (as .ci/run sets). With
 * CONSOLE_SCREENSHOTS=<dir> it saves a screenshot of each page there (docs/console/ holds them).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Client } from '../../src/client/index.js';
import { packageRoot } from '../../src/lib/version.js';
import { runCli, startCliDaemon, tempDir } from './harness.js';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SHOTS = process.env.CONSOLE_SCREENSHOTS;
const SPOUT_FIX = join(packageRoot(), 'test', 'fixtures', 'spouts');
const PIPE_FIX = join(packageRoot(), 'test', 'fixtures', 'pipelines');
const WAIT = 60_000;

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.REQUIRE_SERVICES === '1') {
  throw new Error(`the console tests need chromium at ${CHROMIUM} (REQUIRE_SERVICES=1): apt-get install chromium`);
}

const CSV = 'city,population,"note, quoted"\nOslo,709037,"capital"\nBergen,291940,"rain ""often"""\n';
const JSON_TEXT = '{"name":"sluice","tags":["a","b"],"n":3}';
const TEXT = 'hello from the console test\nsecond line\n';
/** A 1x1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

describe('the web console in chromium', { skip: haveChromium ? false : `no chromium at ${CHROMIUM} (apt-get install chromium)`, timeout: 300_000 }, () => {
  let d: Awaited<ReturnType<typeof startCliDaemon>>;
  let base: string;
  let client: Client;
  const contexts: BrowserContext[] = [];
  const profiles: string[] = [];

  async function cli(args: string[], input = ''): Promise<string> {
    const r = await runCli(args, d.env, input);
    assert.equal(r.code, 0, `pachctl ${args.join(' ')} exited ${r.code}: ${r.err}`);
    return r.out;
  }

  /** A browser with a fresh profile (so no sessionStorage or cache is shared between users). */
  async function browser(): Promise<Page> {
    const dir = await tempDir('sluice-chromium-');
    profiles.push(dir);
    const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 } });
    contexts.push(ctx);
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(WAIT);
    return page;
  }

  async function shot(page: Page, name: string): Promise<void> {
    if (SHOTS === undefined) return;
    await mkdir(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  before(async () => {
    d = await startCliDaemon('console');
    base = `http://${d.daemon.address}`;
    client = new Client({ address: d.daemon.address });
    await cli(['create', 'repo', 'events']);
    await writeFile(join(d.work, 'data.csv'), CSV);
    await writeFile(join(d.work, 'info.json'), JSON_TEXT);
    await writeFile(join(d.work, 'notes.txt'), TEXT);
    await cli(['put', 'file', 'events@master:/data.csv', '-f', join(d.work, 'data.csv')]);
    await cli(['put', 'file', 'events@master:/info.json', '-f', join(d.work, 'info.json')]);
    await cli(['put', 'file', 'events@master:/notes.txt', '-f', join(d.work, 'notes.txt')]);
    await writeFile(join(d.work, 'dot.png'), PNG);
    await cli(['put', 'file', 'events@master:/dot.png', '-f', join(d.work, 'dot.png')]);
    await cli(['put', 'file', 'events@master:/bad.txt'], 'bad');
    const spec = (name: string, body: Record<string, unknown>): string => JSON.stringify({ pipeline: { name }, ...body });
    await writeFile(join(d.work, 'ticker.json'), spec('ticker', {
      transform: { cmd: ['python3', join(SPOUT_FIX, 'marker-pyramid.py')], env: { CHAR: '.', LIMIT: '4', INTERVAL: '0.2' } },
      spout: { marker: 'mymark' },
    }));
    await writeFile(join(d.work, 'consume.json'), spec('consume', { input: { pfs: { repo: 'ticker', glob: '/*' } }, transform: { cmd: ['sh', join(PIPE_FIX, 'copy.sh')] } }));
    await writeFile(join(d.work, 'fails.json'), spec('fails', { input: { pfs: { repo: 'events', glob: '/*', name: 'in' } }, transform: { cmd: ['sh', join(PIPE_FIX, 'fail-on.sh')] } }));
    for (const f of ['ticker', 'consume', 'fails']) await cli(['create', 'pipeline', '-f', join(d.work, `${f}.json`)]);
  });

  after(async () => {
    for (const c of contexts) await c.close();
    for (const p of profiles) await rm(p, { recursive: true, force: true });
    await client?.close();
    await d?.stop();
  });

  it('serves the console at / without touching the API routes', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /\/console\/app\.js/);
    const missing = await fetch(`${base}/api/v1/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'INVALID_ARGUMENT');
    assert.equal((await fetch(`${base}/console/../package.json`)).status, 404);
  });

  it('shows a spout feeding a pipeline on the DAG', async () => {
    const page = await browser();
    await page.goto(`${base}/`);
    await page.locator('g[data-node="pipeline:ticker"][data-type="spout"]').waitFor();
    await page.locator('polyline[data-from="pipeline:ticker"][data-to="repo:ticker"]').waitFor({ state: 'attached' });
    await page.locator('polyline[data-from="repo:ticker"][data-to="pipeline:consume"]').waitFor({ state: 'attached' });
    await page.locator('polyline[data-from="repo:events"][data-to="pipeline:fails"]').waitFor({ state: 'attached' });
    // The failing pipeline's node says so once its job has failed.
    await page.locator('g[data-node="pipeline:fails"][data-state="last job failed"]').waitFor();
    // A commit made through the CLI moves the repo node's head without a reload.
    await cli(['put', 'file', 'events@master:/dag.txt'], 'seen on the DAG\n');
    const [head] = await client.listCommits('events', { branch: 'master', limit: 1 });
    assert.ok(head !== undefined);
    await page.locator(`g[data-node="repo:events"][data-head="${head.id}"]`).waitFor();
    await shot(page, 'dag');
    // Clicking a node opens it.
    await page.locator('g[data-node="repo:events"]').click();
    await page.waitForURL(/#\/repo\/events$/);
  });

  it('shows a commit made through the CLI without a reload', async () => {
    const page = await browser();
    await page.goto(`${base}/#/repo/events`);
    await page.locator('#commits tbody tr').first().waitFor();
    await page.evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    await cli(['put', 'file', 'events@master:/late.txt'], 'arrived later\n');
    const [head] = await client.listCommits('events', { branch: 'master', limit: 1 });
    assert.ok(head !== undefined);
    await page.locator(`#commits tr[data-commit="${head.id}"]`).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'the page was reloaded');
    await page.locator('#files tr[data-path="/late.txt"]').waitFor();
    await shot(page, 'repo');
  });

  it('previews text, JSON, CSV and image files as they are, and downloads them', async () => {
    const page = await browser();
    await page.goto(`${base}/#/repo/events`);
    await page.locator('#files tr[data-path="/notes.txt"] a').click();
    const text = page.locator('#preview[data-path="/notes.txt"] pre[data-kind="text"]');
    await text.waitFor();
    assert.equal(await text.textContent(), TEXT);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#preview button.download').click()]);
    assert.equal(download.suggestedFilename(), 'notes.txt');
    assert.equal(await readFile(await download.path(), 'utf8'), TEXT);

    await page.locator('#files tr[data-path="/dot.png"] a').click();
    const img = page.locator('#preview[data-path="/dot.png"] img[data-kind="image"]');
    await img.waitFor();
    await page.waitForFunction(() => (document.querySelector('#preview img') as HTMLImageElement | null)?.complete === true);
    assert.deepEqual(await img.evaluate((el) => [(el as HTMLImageElement).naturalWidth, (el as HTMLImageElement).naturalHeight]), [1, 1]);

    await page.locator('#files tr[data-path="/info.json"] a').click();
    const json = page.locator('#preview[data-path="/info.json"] pre[data-kind="json"]');
    await json.waitFor();
    assert.deepEqual(JSON.parse((await json.textContent()) ?? ''), JSON.parse(JSON_TEXT));

    await page.locator('#files tr[data-path="/data.csv"] a').click();
    const table = page.locator('#preview[data-path="/data.csv"] table[data-kind="csv"]');
    await table.waitFor();
    assert.deepEqual(await table.locator('th').allTextContents(), ['city', 'population', 'note, quoted']);
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(rows, [['Oslo', '709037', 'capital'], ['Bergen', '291940', 'rain "often"']]);
    await shot(page, 'repo-preview');
  });

  it("shows a failing datum's log line", async () => {
    const page = await browser();
    await page.goto(`${base}/#/pipeline/fails`);
    await page.locator('#jobs tr[data-state="failure"]').first().click();
    await page.locator('#datums tr[data-state="failed"]').first().click();
    await page.locator('#logs', { hasText: 'refusing bad.txt: it is bad' }).waitFor();
    await shot(page, 'pipeline');
  });

  it('shows the spout rates and its last marker', async () => {
    const page = await browser();
    await page.goto(`${base}/#/spout/ticker`);
    // The spout writes four lines then idles: the last marker is the whole pyramid.
    await page.locator('#marker .marker-value', { hasText: '....' }).waitFor();
    await page.locator('#spout-commits tbody tr').first().waitFor();
    await shot(page, 'spout');
  });

  it('gives a reader token no write buttons, and an admin token its buttons', async () => {
    const { rootToken } = await client.activateAuth();
    const root = new Client({ address: d.daemon.address, token: rootToken });
    try {
      const { token: readerToken } = await root.getRobotToken('reader');
      await root.setRepoRole('fails', 'robot:reader', 'repoReader');

      const reader = await browser();
      await reader.goto(`${base}/`);
      await reader.locator('#token').fill(readerToken);
      await shot(reader, 'login');
      await reader.locator('form.login button[type=submit]').click();
      await reader.locator('g[data-node="pipeline:fails"]').waitFor();
      // It sees only what it may read.
      assert.equal(await reader.locator('g[data-node="repo:events"]').count(), 0, 'the reader sees a repo it may not read');
      await reader.goto(`${base}/#/pipeline/fails`);
      await reader.locator('#pipeline-state').waitFor();
      await reader.locator('#spec').waitFor();
      assert.equal(await reader.locator('#stop, #start, #edit').count(), 0, 'a reader sees write buttons');
      // The token lives in this tab's sessionStorage, nowhere else.
      assert.equal(await reader.evaluate(() => sessionStorage.getItem('sluice.token')), readerToken);
      assert.equal(await reader.evaluate(() => localStorage.length), 0);

      const admin = await browser();
      await admin.goto(`${base}/`);
      await admin.locator('#token').fill(rootToken);
      await admin.locator('form.login button[type=submit]').click();
      await admin.locator('g[data-node="repo:events"]').waitFor();
      await admin.goto(`${base}/#/pipeline/fails`);
      await admin.locator('#edit').waitFor();
      // Its buttons work: stop, then start again.
      await admin.locator('#stop').click();
      await admin.locator('#pipeline-state', { hasText: 'paused' }).waitFor();
      assert.equal((await root.inspectPipeline('fails')).stopped, true);
      await admin.locator('#start').click();
      await admin.locator('#stop').waitFor();
      assert.equal((await root.inspectPipeline('fails')).stopped, false);
      // Update through the JSON editor: the current spec with a new description makes version 2.
      await admin.locator('#edit').click();
      const editor = admin.locator('#spec-editor');
      const edited = JSON.parse(await editor.inputValue()) as Record<string, unknown>;
      edited.description = 'edited in the console';
      await editor.fill(JSON.stringify(edited, null, 2));
      await admin.locator('#save').click();
      await admin.locator('.ok', { hasText: 'updated to version 2' }).waitFor();
      const updated = await root.inspectPipeline('fails');
      assert.equal(updated.version, 2);
      assert.equal(updated.description, 'edited in the console');
    } finally {
      await root.close();
    }
  });
});
