// Checks in a real browser that the GraphiQL page works offline: Debian's Chromium, every
// request to a host other than this machine blocked, opens the page, runs a query and waits
// for the expected text in the result pane.
//
// Usage: node graphiql.mjs URL [QUERY] [EXPECTED] [SCREENSHOT.png]
//   URL       the page, e.g. http://127.0.0.1:8080/
//   QUERY     the query to run (default: `{ __typename }`)
//   EXPECTED  text the result must contain (default: `"__typename"`)
//   SCREENSHOT where to save a PNG of the page once the result is there (optional)
// Exits 0 when the result shows up, 1 (with the reason) on any failure or after 30 s.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, query = '{ __typename }', expected = '"__typename"', screenshot] =
  process.argv.slice(2);
if (!url) {
  console.error('usage: node graphiql.mjs URL [QUERY] [EXPECTED] [SCREENSHOT.png]');
  process.exit(2);
}

const OVERALL_MS = 30_000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const started = Date.now();
// Each step may use what is left of the 30 s, less a margin so that the step, not the overall
// timer, reports what it was waiting for.
const remaining = () => Math.max(1, OVERALL_MS - 1500 - (Date.now() - started));
const log = (message) => console.log(`[graphiql.mjs ${Date.now() - started} ms] ${message}`);

const blocked = [];
const problems = []; // CSP violations and uncaught page errors
let userDataDir;
let context;

async function cleanUp() {
  await context?.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
}

let failing = false;
async function fail(message) {
  if (failing) return;
  failing = true;
  clearTimeout(timer);
  console.error(`FAIL: ${message}`);
  report();
  await cleanUp();
  process.exit(1);
}

function report() {
  log(`blocked ${blocked.length} request(s) to other hosts`);
  for (const u of blocked) log(`  blocked: ${u}`);
  for (const p of problems) log(`  page problem: ${p}`);
}

const timer = setTimeout(
  () => fail(`timed out after ${OVERALL_MS / 1000} s (see the last step logged above)`),
  OVERALL_MS,
);

function isLocal(address) {
  try {
    const { protocol, hostname } = new URL(address);
    // data: and blob: URLs never leave the page.
    if (protocol === 'data:' || protocol === 'blob:') return true;
    return LOCAL_HOSTS.has(hostname);
  } catch {
    return false;
  }
}

try {
  userDataDir = mkdtempSync(join(tmpdir(), 'graphiql-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
    timeout: remaining(),
  });
  log(`Chromium ${context.browser()?.version() ?? ''} started`);

  await context.route('**/*', (route) => {
    const address = route.request().url();
    if (isLocal(address)) return route.continue();
    blocked.push(address);
    return route.abort('blockedbyclient');
  });
  // WebSockets escape `route`. Only sockets to other hosts are routed (and closed): local ones
  // stay the browser's own, so the page's CSP still applies to them.
  await context.routeWebSocket(
    (address) => !isLocal(address.href),
    (ws) => {
      blocked.push(ws.url());
      return ws.close();
    },
  );

  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (message) => {
    const text = message.text();
    if (/content security policy/i.test(text)) problems.push(`CSP: ${text}`);
    else if (message.type() === 'error') log(`console error: ${text}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));

  log(`opening ${url}`);
  const response = await page.goto(url, { waitUntil: 'load', timeout: remaining() });
  if (!response?.ok()) await fail(`GET ${url} answered ${response?.status()}`);

  log('waiting for the GraphiQL query editor');
  await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: remaining() });

  log(`running ${JSON.stringify(query)}`);
  await page.evaluate((text) => {
    const editor = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
    editor.setValue(text);
    editor.focus();
  }, query);
  // GraphiQL reads the operation name from the editor after a short debounce: running at once
  // would send the previous query's operation name ("Unknown operation named ...").
  await page.waitForTimeout(500);
  await page.keyboard.press('Control+Enter');

  log(`waiting for ${JSON.stringify(expected)} in the result pane`);
  const resultText = () =>
    page.evaluate(
      () => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '',
    );
  try {
    let retried = false;
    for (;;) {
      const outcome = await page.waitForFunction(
        (want) => {
          const text =
            document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '';
          if (text.includes(want)) return 'found';
          if (text.includes('Unknown operation named')) return 'stale operation name';
          return false;
        },
        expected,
        { timeout: remaining(), polling: 100 },
      );
      const result = await outcome.jsonValue();
      if (result === 'found') break;
      if (retried) throw new Error(result);
      log(`GraphiQL sent a ${result}; running the query again`);
      retried = true;
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction(
        () =>
          !(document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '')
            .includes('Unknown operation named'),
        null,
        { timeout: remaining(), polling: 50 },
      );
    }
  } catch {
    const got = await resultText().catch(() => '(unreadable)');
    await fail(`the result pane never contained ${JSON.stringify(expected)}; it shows:\n${got}`);
  }
  log(`result:\n${await resultText()}`);

  if (screenshot) {
    await page.screenshot({ path: screenshot });
    log(`screenshot saved to ${screenshot}`);
  }
  if (problems.length) await fail(`${problems.length} problem(s) on the page`);

  clearTimeout(timer);
  report();
  await cleanUp();
  log('OK');
  process.exit(0);
} catch (error) {
  await fail(error?.stack ?? String(error));
}
