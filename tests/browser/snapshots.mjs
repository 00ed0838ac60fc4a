// Checks the Tracker's snapshot pages in a real browser: Debian's Chromium, every request to a
// host other than this machine blocked, opens each region's page, requires that nothing was
// blocked and the page broke no Content Security Policy rule, requires each page's footer to
// lie inside its printed page, takes a screenshot, and prints the page to PDF, which must have
// exactly two A4 pages.
//
// Usage: node snapshots.mjs BASE_URL OUT_DIR [PATH ...]
//   BASE_URL  the server, e.g. http://127.0.0.1:8080/
//   OUT_DIR   where the screenshots (PNG) and PDFs go
//   PATH      pages to check (default: the five regions' pages)
// Exits 0 when every page passes, 1 (with the reasons) otherwise.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const REGIONS = [
  'AFRICAN',
  'ASIA_PACIFIC',
  'EASTERN_EUROPEAN',
  'LATIN_AMERICAN_CARIBBEAN',
  'WESTERN_EUROPEAN_OTHERS',
];
const [base, outDir, ...given] = process.argv.slice(2);
if (!base || !outDir) {
  console.error('usage: node snapshots.mjs BASE_URL OUT_DIR [PATH ...]');
  process.exit(2);
}
const paths = given.length ? given : REGIONS.map((r) => `snapshots/regions/${r}`);
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const started = Date.now();
const log = (message) => console.log(`[snapshots.mjs ${Date.now() - started} ms] ${message}`);

function isLocal(address) {
  try {
    const { protocol, hostname } = new URL(address);
    if (protocol === 'data:' || protocol === 'blob:') return true;
    return LOCAL_HOSTS.has(hostname);
  } catch {
    return false;
  }
}

// A PDF's page count, read two ways that must agree: the page tree's /Count and the number of
// page objects. Chromium writes both as plain text.
function pdfPages(bytes) {
  const text = bytes.toString('latin1');
  const objects = (text.match(/\/Type\s*\/Page(?![a-zA-Z])/g) ?? []).length;
  const counts = [...text.matchAll(/\/Type\s*\/Pages\b[^>]*?\/Count\s+(\d+)/g)].map((m) => +m[1]);
  const count = counts.length ? Math.max(...counts) : NaN;
  return { objects, count };
}

const failures = [];
const userDataDir = mkdtempSync(join(tmpdir(), 'snapshots-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1000, height: 1300 },
    timeout: 60_000,
  });
  const blocked = [];
  await context.route('**/*', (route) => {
    const address = route.request().url();
    if (isLocal(address)) return route.continue();
    blocked.push(address);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on('console', (m) => {
    if (/content security policy/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));

  for (const path of paths) {
    const url = new URL(path, base).href;
    const name = path.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-|-$/g, '');
    blocked.length = 0;
    problems.length = 0;
    const response = await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
    if (!response?.ok()) {
      failures.push(`${path}: answered ${response?.status()}`);
      continue;
    }
    const charts = await page.evaluate(() => document.querySelectorAll('svg[role="img"]').length);
    // Every page's footer lies inside its page box, as printed: content that grows too tall
    // for a page pushes the footer out of it (the box hides what overflows).
    await page.emulateMedia({ media: 'print' });
    const cut = await page.evaluate(() => [...document.querySelectorAll('section.page')]
      .map((p, i) => {
        const f = p.querySelector(':scope > footer');
        if (!f) return `page ${i + 1} has no footer`;
        const box = p.getBoundingClientRect();
        const r = f.getBoundingClientRect();
        return r.height > 0 && r.top >= box.top && r.bottom <= box.bottom + 0.5
          ? null
          : `page ${i + 1}'s footer ends at ${Math.round(r.bottom - box.top)} px, below the page's ${Math.round(box.height)} px`;
      })
      .filter((x) => x));
    await page.emulateMedia({ media: null });
    if (cut.length) failures.push(`${path}: ${cut.join('; ')}`);
    const shot = join(outDir, `${name}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    const pdf = await page.pdf({ format: 'A4', preferCSSPageSize: true, printBackground: true });
    writeFileSync(join(outDir, `${name}.pdf`), pdf);
    const pages = pdfPages(pdf);
    log(`${path}: ${charts} charts, ${blocked.length} blocked, PDF ${pages.count} pages (${pages.objects} page objects), ${shot}`);
    if (blocked.length) failures.push(`${path}: ${blocked.length} request(s) to other hosts: ${blocked.join(', ')}`);
    if (problems.length) failures.push(`${path}: ${problems.join('; ')}`);
    if (charts < 3) failures.push(`${path}: ${charts} charts drawn, expected at least 3`);
    if (pages.count !== 2 || pages.objects !== 2) {
      failures.push(`${path}: the PDF has ${pages.count} pages (${pages.objects} page objects), not 2`);
    }
  }
} catch (error) {
  failures.push(error?.stack ?? String(error));
} finally {
  await context?.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
if (failures.length) {
  for (const f of failures) console.error(`FAIL: ${f}`);
  process.exit(1);
}
log(`OK: ${paths.length} page(s)`);
