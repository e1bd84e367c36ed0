// Main browser flows. Run: `npm run e2e` (node --test e2e/).
// Against a real server: TIMEBRIDGE_URL, TIMEBRIDGE_ADMIN_PASSWORD, ZAMMAD_URL, ZAMMAD_TOKEN, KIMAI_URL, KIMAI_TOKEN.
// Without TIMEBRIDGE_URL the in-memory mock (e2e/mock-server.mjs) serving ui/dist is used.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { env, launch, login, shot, target } from './lib.mjs';

describe('timebridge UI flows', { concurrency: false }, () => {
  let t;
  let b;
  let page;
  const suffix = Date.now().toString(36);
  const zName = `Zammad e2e ${suffix}`;
  const kName = `Kimai e2e ${suffix}`;
  const pName = `Pipeline e2e ${suffix}`;
  let pipelineId;

  before(async () => {
    t = await target();
    b = await launch();
    page = b.page;
  });
  after(async () => {
    await b?.browser.close();
    await t?.close();
  });
  const noConsoleErrors = () => assert.deepEqual(b.consoleErrors, [], 'console errors');

  it('shows the login page and rejects a wrong password', async () => {
    await page.goto(`${t.baseUrl}/`);
    await page.waitForURL(/\/login/);
    await page.getByText('timebridge').first().waitFor();
    await shot(page, 'login');
    await page.getByLabel('Password').fill('definitely-wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: /wrong username or password|too many/i }).waitFor();
    noConsoleErrors();
  });

  it('logs in', async () => {
    await login(page, t.baseUrl, t.password);
    await page.getByText('Health').first().waitFor();
    await page.getByText(/\((?:[A-Z][A-Za-z_]+\/[A-Za-z_]+|UTC)\)/).first().waitFor({ timeout: 10000 }).catch(() => {});
    await shot(page, 'dashboard');
    noConsoleErrors();
  });

  async function createConnector(kind, name, url, token) {
    await page.goto(`${t.baseUrl}/connectors/new`);
    await page.getByLabel('Kind').selectOption(kind);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Base URL').fill(url);
    await page.getByLabel(/API token/).fill(token);
    await page.getByRole('button', { name: 'Create connector' }).click();
    await page.waitForURL(/\/connectors\/\d+$/);
    await page.getByRole('button', { name: 'Test connection' }).click();
    const result = page.getByRole('status').filter({ hasText: /Connection OK|Failed/ });
    await result.waitFor();
    const text = await result.innerText();
    assert.match(text, /Connection OK/, `test of ${kind} connector: ${text}`);
    return Number(page.url().split('/').pop());
  }

  it('creates and tests a Zammad and a Kimai connector', async () => {
    // client-side validation first
    await page.goto(`${t.baseUrl}/connectors/new`);
    await page.getByLabel('Base URL').fill('not a url');
    await page.getByRole('button', { name: 'Create connector' }).click();
    await page.getByText('Name is required').waitFor();
    await page.getByText(/Must be a valid URL/).waitFor();
    await shot(page, 'connector-form');

    await createConnector('zammad', zName, env.zammadUrl, env.zammadToken);
    await createConnector('kimai', kName, env.kimaiUrl, env.kimaiToken);
    await page.goto(`${t.baseUrl}/connectors`);
    await page.getByRole('link', { name: zName, exact: true }).waitFor();
    await shot(page, 'connectors');
    noConsoleErrors();
  });

  it('creates a pipeline', async () => {
    await page.goto(`${t.baseUrl}/pipelines/new`);
    await page.getByLabel(/^Name( \*)?$/).fill(pName); // not "Match projects and activities by name"
    await page.getByLabel(/^Source( \*)?$/).selectOption({ label: `${zName} (Zammad)` });
    await page.getByLabel(/^Target( \*)?$/).selectOption({ label: `${kName} (Kimai)` });
    await page.getByLabel('Interval (minutes)').fill('360');
    await page.getByLabel('Window (days back)').fill('30');
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await page.waitForURL(/\/mappings\?pipeline=\d+/);
    pipelineId = Number(new URL(page.url()).searchParams.get('pipeline'));
    assert.ok(pipelineId > 0);
    noConsoleErrors();
  });

  it('maps an activity and shows users matched by e-mail', async () => {
    await page.goto(`${t.baseUrl}/mappings?pipeline=${pipelineId}`);
    await page.getByRole('tab', { name: 'Activities' }).waitFor();
    const firstPicker = page.getByRole('combobox', { name: /^Kimai activity for / }).first();
    await firstPicker.click();
    await page.getByRole('listbox').getByRole('option').nth(1).click(); // option 0 is "(not mapped)"
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await page.getByRole('region', { name: 'Preview of the changes' }).getByText(/ would change\.$/).waitFor();
    await page.getByRole('button', { name: 'Save mappings' }).click();
    await page.getByText(/mapping change(s)? saved/).first().waitFor();
    await shot(page, 'mappings');
    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByRole('columnheader', { name: 'Agent' }).waitFor();
    await shot(page, 'mappings-users');
    noConsoleErrors();
  });

  it('previews a sync, then runs it for real', async () => {
    await page.goto(`${t.baseUrl}/sync?pipeline=${pipelineId}`);
    await page.getByRole('button', { name: /Preview \(dry run\)/ }).click();
    await page.getByText('Preview: what a sync would do').waitFor({ timeout: 120000 });
    await shot(page, 'sync-preview');
    await page.getByRole('button', { name: /Run it for real/ }).click();
    await page.getByText('Sync started').first().waitFor();
    if (t.mock) {
      await page.getByRole('progressbar', { name: 'Run progress' }).waitFor();
      await shot(page, 'sync-running');
    }
    // wait until the real run has finished (the page polls /api/sync/status every 2 s meanwhile)
    const deadline = Date.now() + 300000;
    let real;
    for (;;) {
      const h = await page.evaluate(async (pid) => (await fetch(`/api/sync/history?pipeline_id=${pid}&limit=10`)).json(), pipelineId);
      real = h.items.find((r) => !r.dry_run && r.trigger === 'manual');
      if (real && ['succeeded', 'partial', 'failed'].includes(real.status)) break;
      if (Date.now() > deadline) throw new Error(`run did not finish: ${JSON.stringify(real)}`);
      await page.waitForTimeout(2000);
    }
    assert.notEqual(real.status, 'failed', `run failed: ${real.error}`);
    await page.reload();
    await page.locator(`table a[href="/sync/runs/${real.id}"]`).waitFor();
    await shot(page, 'sync');
    await page.locator(`table a[href="/sync/runs/${real.id}"]`).click();
    await page.getByRole('heading', { name: `Run #${real.id}` }).waitFor();
    await page.getByRole('button', { name: /^Create \(\d+\)$/ }).click();
    await shot(page, 'run-detail');
    noConsoleErrors();
  });

  it('opens and resolves a conflict', async () => {
    await page.goto(`${t.baseUrl}/conflicts?view=entries&status=open`);
    const first = page.locator('table a[href^="/conflicts/"]').first();
    await first.waitFor({ timeout: 10000 }).catch(() => {});
    if ((await first.count()) === 0) {
      await shot(page, 'conflicts-empty');
      return; // nothing to resolve on this data set
    }
    await shot(page, 'conflicts');
    await first.click();
    await page.getByText('Source and target').waitFor();
    await shot(page, 'conflict-detail');
    const actions = ['Skip', 'Keep target', 'Update', 'Link', 'Create', 'Delete target'];
    let clicked = null;
    for (const name of actions) {
      const btn = page.getByRole('button', { name, exact: true });
      if ((await btn.count()) > 0) {
        await btn.first().click();
        clicked = name;
        break;
      }
    }
    assert.ok(clicked, 'an allowed action button');
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Note (optional)').fill('resolved by the e2e test');
    await dialog.getByRole('button', { name: clicked, exact: true }).click();
    await page.getByText(/Resolved with/).waitFor();
    noConsoleErrors();
  });

  it('filters and exports the audit log', async () => {
    await page.goto(`${t.baseUrl}/audit`);
    await page.getByLabel('Action').selectOption('connector_created');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/action=connector_created/);
    // the previous page stays visible (dimmed, aria-busy) until the filtered one arrives
    await page
      .waitForFunction(() => {
        const cells = [...document.querySelectorAll('table tbody tr td:nth-child(3)')].map((td) => td.textContent.trim());
        return !document.querySelector('table[aria-busy]') && cells.length > 0 && cells.every((c) => c === 'connector_created');
      })
      .catch(async () => {
        const actions = await page.locator('table tbody tr td:nth-child(3)').allInnerTexts();
        assert.fail(`audit rows not filtered: ${actions.join(', ')}`);
      });
    await shot(page, 'audit');
    const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    assert.match(href, /^\/api\/audit\/export\?action=connector_created/);
    const res = await page.evaluate(async (h) => {
      const r = await fetch(h, { credentials: 'same-origin' });
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, href);
    assert.equal(res.status, 200);
    assert.match(res.type ?? '', /csv/);
    assert.match(res.text, /connector_created/);
    noConsoleErrors();
  });

  it('shows settings with the webhook URL', async () => {
    await page.goto(`${t.baseUrl}/settings`);
    const field = page.getByRole('textbox', { name: `Webhook URL for ${zName}`, exact: true });
    await field.waitFor();
    const v = await field.inputValue();
    assert.match(v, new RegExp(`^${t.baseUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/api/webhook/zammad/\\d+$`));
    await shot(page, 'settings');
    noConsoleErrors();
  });

  it('works at 375 px with a collapsible menu', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${t.baseUrl}/`);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await shot(page, 'mobile-dashboard');
    await page.getByRole('button', { name: 'Open menu' }).click();
    await page.locator('#mobile-nav').getByRole('link', { name: 'Conflicts' }).waitFor();
    await shot(page, 'mobile-menu');
    await page.locator('#mobile-nav').getByRole('link', { name: 'Conflicts' }).click();
    await page.getByRole('heading', { name: 'Conflicts' }).waitFor();
    await page.setViewportSize({ width: 1280, height: 860 });
    noConsoleErrors();
  });

  it('logs out', async () => {
    await page.goto(`${t.baseUrl}/`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/);
    await page.goto(`${t.baseUrl}/conflicts`);
    await page.waitForURL(/\/login/);
    noConsoleErrors();
  });
});
