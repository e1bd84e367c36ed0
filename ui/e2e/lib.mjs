// Shared helpers for the browser tests (playwright-core + node:test; no browser downloads).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/**
 * Where screenshots go: E2E_SCREENSHOT_DIR, else docs/screenshots against a real server (TIMEBRIDGE_URL)
 * and a temp directory against the mock (so that mock runs never overwrite the documented screenshots).
 */
export const SCREENSHOTS = `${(
  process.env.E2E_SCREENSHOT_DIR ||
  (process.env.TIMEBRIDGE_URL ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url)) : join(tmpdir(), 'timebridge-mock-screenshots'))
).replace(/\/$/, '')}/`;
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Base URL and credentials. With TIMEBRIDGE_URL unset, an in-memory mock of the API (e2e/mock-server.mjs)
 * serving ui/dist is started, so the flows can be exercised without the Rust server.
 */
export async function target() {
  if (process.env.TIMEBRIDGE_URL) {
    if (!process.env.TIMEBRIDGE_ADMIN_PASSWORD) throw new Error('TIMEBRIDGE_ADMIN_PASSWORD is required with TIMEBRIDGE_URL');
    return { baseUrl: process.env.TIMEBRIDGE_URL.replace(/\/$/, ''), password: process.env.TIMEBRIDGE_ADMIN_PASSWORD, mock: false, close: async () => {} };
  }
  const { createMockServer, createState } = await import('./mock-server.mjs');
  const server = createMockServer(createState('admin-password'));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return { baseUrl: `http://127.0.0.1:${port}`, password: 'admin-password', mock: true, close: () => new Promise((r) => server.close(r)) };
}

export const env = {
  zammadUrl: process.env.ZAMMAD_URL || 'http://127.0.0.1:3001',
  zammadToken: process.env.ZAMMAD_TOKEN || 'zammad-test-token',
  kimaiUrl: process.env.KIMAI_URL || 'http://127.0.0.1:3002',
  kimaiToken: process.env.KIMAI_TOKEN || 'kimai-test-token',
};

/** HTTP statuses the browser logs as "Failed to load resource" that a flow may legitimately cause. */
const EXPECTED_HTTP = /Failed to load resource: the server responded with a status of (401|429)\b/;

/**
 * Debian's Chromium with a fresh profile directory (removed again by `browser.close()`); never downloads a browser.
 * Returns `{browser, context, page, consoleErrors}`; console errors and warnings are collected, except the
 * browser's own lines for expected 401/429 answers.
 */
export async function launch({ width = 1280, height = 860 } = {}) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'timebridge-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    viewport: { width, height },
    timezoneId: process.env.TZ_ID || 'Europe/Berlin',
    locale: 'en-GB',
    acceptDownloads: true,
  });
  const browser = {
    close: async () => {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') {
      if (EXPECTED_HTTP.test(msg.text())) return;
      consoleErrors.push(`[${msg.type()}] ${msg.text()} @ ${page.url()}${msg.location()?.url ? ` (${msg.location().url})` : ''}`);
    }
  });
  page.on('pageerror', (e) => consoleErrors.push(`[pageerror] ${e.message} @ ${page.url()}`));
  page.setDefaultTimeout(Number(process.env.E2E_TIMEOUT_MS || 15000));
  return { browser, context, page, consoleErrors };
}

export async function shot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

export async function login(page, baseUrl, password) {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
}

/** Calls the API from inside `page` (its session cookie and CSRF-free same-origin fetch): `{ status, body }`. */
export function pageFetch(page, method, path, body) {
  return page.evaluate(
    async ([m, p, bd]) => {
      const r = await fetch(p, { method: m, headers: { 'Content-Type': 'application/json' }, body: bd === undefined ? undefined : JSON.stringify(bd) });
      return { status: r.status, body: r.status === 204 ? null : await r.json() };
    },
    [method, path, body],
  );
}
