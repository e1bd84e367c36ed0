// Browser tests against the REAL timebridge server and its Zammad/Kimai simulators
// (`timebridge sim zammad|kimai --seed small`). Started by e2e/run.sh, which sets:
//   TIMEBRIDGE_URL, TIMEBRIDGE_ADMIN_PASSWORD, ZAMMAD_URL, ZAMMAD_TOKEN, KIMAI_URL, KIMAI_TOKEN,
//   ODOO_URL, ODOO_TOKEN, TIMETRACKER_URL, TIMETRACKER_TOKEN
// The steps build on each other (one fresh server per run): log in, connectors, pipeline,
// mappings, dry run, real sync, run detail, conflicts, audit. Screenshots: docs/screenshots/.
// Every wait has a deadline (Playwright auto-waiting); there are no fixed sleeps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, shot } from '../lib.mjs';

const NEEDED = ['TIMEBRIDGE_URL', 'TIMEBRIDGE_ADMIN_PASSWORD', 'ZAMMAD_URL', 'ZAMMAD_TOKEN', 'KIMAI_URL', 'KIMAI_TOKEN', 'ODOO_URL', 'ODOO_TOKEN', 'TIMETRACKER_URL', 'TIMETRACKER_TOKEN'];
const missing = NEEDED.filter((n) => !process.env[n]);
const BASE = (process.env.TIMEBRIDGE_URL ?? '').replace(/\/$/, '');
const PASSWORD = process.env.TIMEBRIDGE_ADMIN_PASSWORD;
const RUN_TIMEOUT = Number(process.env.E2E_RUN_TIMEOUT_MS || 180_000);

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const humanize = (code) => {
  const s = code.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
};

describe('timebridge UI against the real server', { concurrency: false, skip: missing.length ? `needs ${missing.join(', ')} (run e2e/run.sh)` : false }, () => {
  let b;
  let page;
  const zName = 'Helpdesk (Zammad)';
  const kName = 'Time tracking (Kimai)';
  const badName = 'Kimai with a wrong token';
  const pName = 'Helpdesk to Kimai';
  let pipelineId;
  let runId;
  const noConsoleErrors = () => assert.deepEqual(b.consoleErrors, [], 'console errors');
  /** Screenshot into docs/screenshots once no "Loading…" indicator is left on the page. */
  const snap = async (name) => {
    await page.waitForFunction(() => ![...document.querySelectorAll('[role="status"]')].some((e) => /Loading/.test(e.textContent ?? '')));
    await shot(page, name);
  };

  before(async () => {
    b = await launch();
    page = b.page;
  });
  after(async () => {
    await b?.browser.close();
  });

  it('redirects to the login page, rejects a wrong password and logs in', async () => {
    await page.goto(`${BASE}/`);
    await page.waitForURL(/\/login/);
    await page.getByLabel('Username').waitFor();
    await snap('login');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('definitely-wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: /wrong username or password/i }).waitFor();

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    // the chart counts entries written per day from the run history
    await page.getByText('Entries written, last 30 days').waitFor();
    noConsoleErrors();
  });

  async function createConnector(kind, name, url, token, screenshot) {
    await page.goto(`${BASE}/connectors/new`);
    await page.getByLabel('Kind').selectOption(kind);
    await page.getByLabel(/^Name( \*)?$/).fill(name);
    await page.getByLabel('Base URL').fill(url);
    await page.getByLabel(/API token/).fill(token);
    if (screenshot) await snap(screenshot);
    await page.getByRole('button', { name: 'Create connector' }).click();
    await page.waitForURL(/\/connectors\/\d+$/);
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    await page.getByRole('button', { name: 'Test connection' }).click();
    const result = page.getByRole('status').filter({ hasText: /Connection OK|Failed/ });
    await result.waitFor();
    return { id, text: await result.innerText() };
  }

  it('creates a Zammad and a Kimai connector pointing at the simulators; the test says OK', async () => {
    const z = await createConnector('zammad', zName, process.env.ZAMMAD_URL, process.env.ZAMMAD_TOKEN, 'connector-form');
    assert.match(z.text, /Connection OK/, z.text);
    assert.match(z.text, /Connected to Zammad/, z.text);
    const k = await createConnector('kimai', kName, process.env.KIMAI_URL, process.env.KIMAI_TOKEN);
    assert.match(k.text, /Connection OK/, k.text);
    assert.match(k.text, /Connected to Kimai/, k.text);
    await snap('connector-edit');
    noConsoleErrors();
  });

  it('shows a clear failure for a connector with a wrong token', async () => {
    const bad = await createConnector('kimai', badName, process.env.KIMAI_URL, 'wrong-token');
    assert.match(bad.text, /Failed/, bad.text);
    assert.match(bad.text, /token/i, bad.text);
    assert.match(bad.text, /Unauthorized/, `error class shown: ${bad.text}`);
    noConsoleErrors();
  });

  it('tests every connector from the list', async () => {
    await page.goto(`${BASE}/connectors`);
    for (const [name, ok] of [[zName, true], [kName, true], [badName, false]]) {
      const row = page.getByRole('row').filter({ has: page.getByRole('link', { name, exact: true }) });
      await row.getByRole('button', { name: `Test connection of ${name}` }).click();
      await row.getByRole('status').filter({ hasText: ok ? /Connection OK/ : /Failed/ }).waitFor();
    }
    await snap('connectors');
    noConsoleErrors();
  });

  it('configures an Odoo and a TimeTracker connector from their settings schemas; the tests say OK', async () => {
    await page.goto(`${BASE}/connectors/new`);
    await page.getByLabel('Kind').selectOption('odoo');
    await page.getByLabel(/^Name( \*)?$/).fill('Payroll (Odoo attendance)');
    await page.getByLabel('Base URL').fill(process.env.ODOO_URL);
    await page.getByLabel(/API token/).fill(process.env.ODOO_TOKEN);
    await page.getByLabel(/^Database name/).fill('tb_odoo18');
    await page.getByLabel(/^Login of the API user/).fill('admin');
    await page.getByLabel(/^Write timesheets/).selectOption('attendance');
    await snap('connector-form-odoo');
    await page.getByRole('button', { name: 'Create connector' }).click();
    await page.waitForURL(/\/connectors\/\d+$/);
    await page.getByRole('button', { name: 'Test connection' }).click();
    const odoo = page.getByRole('status').filter({ hasText: /Connection OK|Failed/ });
    await odoo.waitFor();
    assert.match(await odoo.innerText(), /Connection OK/);
    assert.match(await odoo.innerText(), /hr\.attendance|attendance/);

    const t = await createConnector('timetracker', 'Team time (TimeTracker)', process.env.TIMETRACKER_URL, process.env.TIMETRACKER_TOKEN);
    assert.match(t.text, /Connection OK/, t.text);
    noConsoleErrors();
  });

  it('creates a pipeline', async () => {
    await page.goto(`${BASE}/pipelines/new`);
    await page.getByLabel(/^Name( \*)?$/).fill(pName); // not "Match projects and activities by name"
    await page.getByLabel(/^Source( \*)?$/).selectOption({ label: `${zName} (Zammad)` });
    await page.getByLabel(/^Target( \*)?$/).selectOption({ label: `${kName} (Kimai)` });
    await page.getByLabel('Window (days back)').fill('31');
    await snap('pipeline-form');
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await page.waitForURL(/\/mappings\?pipeline=\d+/);
    pipelineId = Number(new URL(page.url()).searchParams.get('pipeline'));
    assert.ok(pipelineId > 0);
    noConsoleErrors();
  });

  /** Picks `target` (exact label) in the combobox of the row for `source`. */
  async function pick(targetLabel, source, target) {
    const combo = page.getByRole('combobox', { name: `${targetLabel} for ${source}`, exact: true });
    await combo.click();
    const list = page.getByRole('listbox');
    await list.getByRole('option').filter({ has: page.locator('span', { hasText: new RegExp(`^${esc(target)}$`) }) }).click();
    await list.waitFor({ state: 'detached' });
    await assert.doesNotReject(combo.filter({ hasText: target }).waitFor(), `${source} shows ${target}`);
  }

  it('maps Zammad types to Kimai activities and organizations to projects with the catalog dropdowns', async () => {
    await page.goto(`${BASE}/mappings?pipeline=${pipelineId}`);
    await page.getByRole('tab', { name: 'Activities', selected: true }).waitFor();
    // the heading comes from the kinds' labels and dimension words (GET /api/connectors/kinds)
    await page.getByRole('heading', { name: 'Zammad type → Kimai activity', exact: true }).waitFor();
    // types (Zammad catalog) → activities (Kimai catalog); "Internal (old)" stays unmapped
    const activities = [['Consulting', 'Consulting'], ['On-site', 'On-site'], ['Remote support', 'Remote support'], ['Travel', 'Travel']];
    for (const [src, tgt] of activities) await pick('Kimai activity', src, tgt);
    await page.getByText('4 unsaved changes').waitFor();
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await page.getByRole('region', { name: 'Preview of the changes' }).getByText(/ would change\.$/).waitFor({ timeout: RUN_TIMEOUT });
    await page.getByRole('button', { name: 'Save mappings' }).click();
    await page.getByText('4 mapping changes saved').first().waitFor();
    await page.getByText('Only unmapped (1)').waitFor();

    await page.getByRole('tab', { name: 'Projects' }).click();
    await page.getByRole('heading', { name: 'Zammad organization → Kimai project', exact: true }).waitFor();
    const orgs = ['Acme Logistics GmbH', 'Bergmann Dental', 'Cafe Sonnenschein', 'Delta Steuerberatung', 'Elbe Immobilien AG', 'Fuchs & Partner Architekten'];
    for (const o of orgs) await pick('Kimai project', o, `${o} / ${o}`);
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await page.getByRole('region', { name: 'Preview of the changes' }).getByText(/ would change\.$/).waitFor({ timeout: RUN_TIMEOUT });
    await page.getByRole('button', { name: 'Save mappings' }).click();
    await page.getByText('6 mapping changes saved').first().waitFor();
    await page.getByText('Only unmapped (0)').waitFor();
    await snap('mappings');

    // the mappings are stored: after a reload the pickers show them
    await page.reload();
    await page.getByRole('combobox', { name: 'Kimai activity for Consulting', exact: true }).filter({ hasText: 'Consulting' }).waitFor();

    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Zammad agent → Kimai user', exact: true }).waitFor();
    await page.getByRole('columnheader', { name: 'Zammad agent', exact: true }).waitFor();
    await page.getByText('matched by e-mail').first().waitFor();
    await snap('mappings-users');
    noConsoleErrors();
  });

  it('previews a sync (dry run), then runs it for real and shows the run with its stats and items', async () => {
    await page.goto(`${BASE}/sync?pipeline=${pipelineId}`);
    await page.getByRole('button', { name: /Preview \(dry run\)/ }).click();
    const plan = page.getByText('Preview: what a sync would do');
    await plan.waitFor({ timeout: RUN_TIMEOUT });
    const toCreate = Number(await page.locator('li', { hasText: 'to create' }).locator('strong').innerText());
    const planned = Number(await page.locator('li', { hasText: /conflicts$/ }).locator('strong').innerText());
    assert.ok(toCreate > 0, `the dry run plans creates (${toCreate})`);
    assert.ok(planned > 0, `the dry run plans conflicts (${planned})`);
    await page.getByRole('button', { name: /^Conflict \(\d+\)$/ }).click();
    await page.getByRole('cell', { name: /Negative duration/ }).first().waitFor();
    await snap('sync-preview');

    await page.getByRole('button', { name: /Run it for real \(\d+ writes?\)/ }).click();
    const started = page.getByText(/^Run #\d+ — progress is shown below\.$/);
    await started.waitFor();
    runId = Number((await started.innerText()).match(/#(\d+)/)[1]);
    // the live status polls /api/sync/status; wait until it reports this run as the last, finished one
    const last = page.locator('p', { hasText: 'Last run:' });
    await last.getByRole('link', { name: `#${runId}`, exact: true }).waitFor({ timeout: RUN_TIMEOUT });
    const lastText = await last.innerText();
    assert.match(lastText, /succeeded|partial/, `last run: ${lastText}`);
    // the history refreshes by itself and shows the finished run with its counts
    const row = page.getByRole('row').filter({ has: page.locator(`a[href="/sync/runs/${runId}"]`) });
    await row.filter({ hasText: /succeeded|partial/ }).waitFor();
    await page.getByRole('row').filter({ hasText: /Manual · dry run/ }).first().waitFor();
    await snap('sync');

    await row.getByRole('link', { name: `#${runId}` }).click();
    await page.getByRole('heading', { name: `Run #${runId}` }).waitFor();
    await page.getByText(/Manual run/).first().waitFor();
    const stat = async (label) => Number(await page.locator('li', { has: page.getByText(label, { exact: true }) }).locator('div').nth(1).innerText());
    const created = await stat('Created');
    const conflicts = await stat('Conflicts');
    const fetched = await stat('Fetched');
    assert.ok(created > 0, `created ${created}`);
    assert.ok(conflicts > 0, `conflicts ${conflicts}`);
    assert.ok(fetched >= created + conflicts, `fetched ${fetched} >= created ${created} + conflicts ${conflicts}`);
    // items: every created entry has its Kimai id; conflict items name the reason and link the conflict
    await page.getByRole('button', { name: `Create (${created})` }).waitFor();
    await page.getByRole('button', { name: `Conflict (${conflicts})` }).click();
    await page.getByRole('cell', { name: /Target rejected/ }).first().waitFor();
    await page.getByRole('link', { name: /^conflict #\d+$/ }).first().waitFor();
    await snap('run-detail');
    noConsoleErrors();
  });

  it('lists conflicts of every expected reason', async () => {
    await page.goto(`${BASE}/conflicts?view=entries`);
    await page.locator('table a[href^="/conflicts/"]').first().waitFor();
    await snap('conflicts');
    for (const reason of ['negative_duration', 'unmapped_user', 'unmapped_activity', 'target_rejected']) {
      await page.getByLabel('Reason').selectOption(reason);
      await page.waitForURL(new RegExp(`reason=${reason}`));
      // the previous page stays visible until the filtered one arrives: wait for rows of this reason only
      await page
        .waitForFunction((label) => {
          const links = [...document.querySelectorAll('table a[href^="/conflicts/"]')].map((a) => a.textContent.trim());
          return !document.querySelector('table[aria-busy]') && links.length > 0 && links.every((t) => t.endsWith(label));
        }, humanize(reason))
        .catch(async () => assert.fail(`no ${reason} conflicts listed: ${(await page.locator('table a[href^="/conflicts/"]').allInnerTexts()).join(', ')}`));
    }
    noConsoleErrors();
  });

  it('opens a conflict with its source entry and how it was mapped', async () => {
    await page.goto(`${BASE}/conflicts?view=entries&reason=target_rejected`);
    const link = page.locator('table a[href^="/conflicts/"]', { hasText: 'Target rejected' }).first();
    await link.click();
    await page.getByRole('heading', { name: /^Conflict #\d+: Target rejected$/ }).waitFor();
    await page.getByText('Source and target').waitFor();
    await page.getByText('How it was mapped').waitFor();
    await page.getByText(/matched by e-mail|mapping #\d+/).first().waitFor();
    await page.getByText(/The target (refused the create|would refuse)/).first().waitFor();
    await page.getByRole('button', { name: 'Create', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Skip', exact: true }).waitFor();
    await snap('conflict-detail');
    noConsoleErrors();
  });

  it('resolves a conflict with "skip" and shows it resolved', async () => {
    await page.goto(`${BASE}/conflicts?view=entries&reason=negative_duration`);
    const link = page.locator('table a[href^="/conflicts/"]', { hasText: 'Negative duration' }).first();
    await link.waitFor();
    const id = Number((await link.getAttribute('href')).split('/').pop());
    await link.click();
    await page.getByRole('heading', { name: `Conflict #${id}: Negative duration` }).waitFor();
    await page.getByRole('button', { name: 'Skip', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Note (optional)').fill('correction entry, nothing to book');
    await dialog.getByRole('button', { name: 'Skip', exact: true }).click();
    await page.getByText(/Resolved with/).waitFor();
    await page.getByText('“correction entry, nothing to book”', { exact: false }).waitFor();
    await dialog.waitFor({ state: 'detached' });
    await snap('conflict-resolved');

    // no longer among the open ones, listed as resolved
    await page.goto(`${BASE}/conflicts?view=entries&status=resolved`);
    await page.getByRole('row').filter({ has: page.locator(`a[href="/conflicts/${id}"]`) }).filter({ hasText: 'resolved: Skip' }).waitFor();
    await page.goto(`${BASE}/conflicts?view=entries&status=open&reason=negative_duration`);
    // the seed has one negative accounting per 97, so how many are left open depends on how much of the
    // seeded month the sync window covers (all of it early in a month): the list or its empty state
    await page.locator('table a[href^="/conflicts/"]').or(page.getByText(/No (open )?conflicts/i)).first().waitFor();
    assert.equal(await page.locator(`a[href="/conflicts/${id}"]`).count(), 0);
    noConsoleErrors();
  });

  it('shows audit events and filters them', async () => {
    await page.goto(`${BASE}/audit`);
    const actions = page.locator('table tbody tr td:nth-child(3)');
    await actions.first().waitFor();
    const seen = new Set(await actions.allInnerTexts());
    assert.ok(seen.has('conflict_resolved') || seen.has('sync_finished'), `recent audit actions: ${[...seen].join(', ')}`);
    await page.getByLabel('Action').selectOption('conflict_resolved');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/action=conflict_resolved/);
    await page
      .waitForFunction(() => {
        const cells = [...document.querySelectorAll('table tbody tr td:nth-child(3)')].map((td) => td.textContent.trim());
        return !document.querySelector('table[aria-busy]') && cells.length > 0 && cells.every((c) => c === 'conflict_resolved');
      })
      .catch(async () => assert.fail(`audit rows not filtered: ${(await actions.allInnerTexts()).join(', ')}`));
    await page.getByRole('button', { name: 'Show details' }).first().click();
    await page.getByText(/"note": "correction entry, nothing to book"/).first().waitFor();

    await page.getByLabel('Action').selectOption('');
    await page.getByLabel('Entity type').selectOption('connector');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/entity_type=connector/);
    await page
      .waitForFunction(() => {
        const cells = [...document.querySelectorAll('table tbody tr td:nth-child(3)')].map((td) => td.textContent.trim());
        return !document.querySelector('table[aria-busy]') && cells.filter((c) => c === 'connector_created').length === 5; // Zammad, Kimai, the bad one, Odoo, TimeTracker
      })
      .catch(async () => assert.fail(`connector events: ${(await actions.allInnerTexts()).join(', ')}`));
    const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    assert.match(href, /^\/api\/audit\/export\?entity_type=connector/);
    const res = await page.evaluate(async (h) => {
      const r = await fetch(h, { credentials: 'same-origin' });
      return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
    }, href);
    assert.equal(res.status, 200);
    assert.match(res.type ?? '', /csv/);
    assert.match(res.text, /connector_created/);

    await page.goto(`${BASE}/audit`);
    await actions.first().waitFor();
    await snap('audit');
    noConsoleErrors();
  });

  it('says so when a sync is started while another run of the pipeline is going (409 with its run id)', async () => {
    const post = () =>
      page.evaluate(async (pid) => {
        const r = await fetch('/api/sync/manual', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ pipeline_id: pid }) });
        return { status: r.status, body: await r.json() };
      }, pipelineId);
    const busy = page.getByRole('alert').filter({ hasText: 'A run of this pipeline is already in progress.' });
    const started = page.getByText(/^Run #\d+ — progress is shown below\.$/);
    // A run takes a few hundred ms here; should one finish before the click lands, try again.
    for (let attempt = 1; ; attempt++) {
      await page.goto(`${BASE}/sync?pipeline=${pipelineId}`);
      await page.getByText(/No run in progress|Run #\d+/).first().waitFor();
      const first = await post();
      assert.equal(first.status, 202, JSON.stringify(first));
      await page.getByRole('button', { name: 'Run now' }).click();
      await busy.or(started).first().waitFor();
      if (await busy.isVisible()) {
        await busy.getByRole('link', { name: `Open run #${first.body.run_id}` }).waitFor();
        // the API answer behind it: 409 run_in_progress with details.run_id (unless the run has finished by now)
        const again = await post();
        if (again.status === 409) {
          assert.equal(again.body.error.code, 'run_in_progress');
          assert.equal(again.body.error.details.run_id, first.body.run_id);
        }
        break;
      }
      assert.ok(attempt < 3, 'the first run always finished before the second request');
      await page.locator('p', { hasText: 'Last run:' }).waitFor({ timeout: RUN_TIMEOUT });
    }
    await snap('sync-busy');
    // wait for the queue to drain so that later steps see a quiet pipeline (the "Last run:" line is there
    // as soon as any run has finished, so ask the status itself)
    await waitUntilIdle();
    b.consoleErrors.splice(0, b.consoleErrors.length, ...b.consoleErrors.filter((e) => !/status of 409/.test(e))); // the refused request, by design
    noConsoleErrors();
  });

  /** Until `GET /api/sync/status` says no run of the pipeline is queued or running (polled, with a deadline). */
  async function waitUntilIdle() {
    const deadline = Date.now() + RUN_TIMEOUT;
    for (;;) {
      const st = await page.evaluate(async (pid) => {
        const r = await fetch(`/api/sync/status?pipeline_id=${pid}`);
        return r.ok ? r.json() : null;
      }, pipelineId);
      // `running` is false while a run is still queued: `current_run` is set for both
      if (st && !st.running && !st.current_run) return;
      assert.ok(Date.now() < deadline, `the pipeline is still busy: ${JSON.stringify(st?.current_run)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('refuses two manual syncs sent at the same moment except one', async () => {
    await waitUntilIdle();
    const answers = await page.evaluate(async (pid) => {
      const post = () =>
        fetch('/api/sync/manual', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ pipeline_id: pid }) }).then(async (r) => ({
          status: r.status,
          body: await r.json(),
        }));
      return Promise.all([post(), post()]);
    }, pipelineId);
    b.consoleErrors.splice(0, b.consoleErrors.length, ...b.consoleErrors.filter((e) => !/status of 409/.test(e)));
    await page.goto(`${BASE}/sync?pipeline=${pipelineId}`);
    await page.locator('p', { hasText: 'Last run:' }).waitFor({ timeout: RUN_TIMEOUT });
    assert.deepEqual(answers.map((a) => a.status).sort(), [202, 409], JSON.stringify(answers));
  });

  it('shows settings with the webhook URL, the retention period and a GDPR export', async () => {
    await page.goto(`${BASE}/settings`);
    const field = page.getByRole('textbox', { name: `Webhook URL for ${zName}`, exact: true });
    await field.waitFor();
    assert.match(await field.inputValue(), new RegExp(`^${esc(BASE)}/api/webhook/zammad/\\d+$`));
    // the stored retention period (default 90 days) is loaded into the form
    await page.waitForFunction(() => [...document.querySelectorAll('input')].some((i) => i.labels?.[0]?.textContent?.includes('Retention') && i.value === '90'));
    await page.getByLabel('E-mail address').fill('ben.schmidt@helpdesk.example');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export as JSON' }).click();
    assert.match((await download).suggestedFilename(), /^timebridge-export-ben\.schmidt@helpdesk\.example\.json$/);
    await snap('settings');
    noConsoleErrors();
  });

  it('works at 375 px with a collapsible menu', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    try {
      await page.goto(`${BASE}/`);
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      await page.getByText('Entries written, last 30 days').waitFor();
      await snap('mobile-dashboard');
      await page.getByRole('button', { name: 'Open menu' }).click();
      await page.locator('#mobile-nav').getByRole('link', { name: /Conflicts/ }).waitFor();
      await snap('mobile-menu');
      await page.locator('#mobile-nav').getByRole('link', { name: /Conflicts/ }).click();
      await page.getByRole('heading', { name: 'Conflicts' }).waitFor();
      await page.getByRole('button', { name: 'All entries' }).click();
      await page.locator('table a[href^="/conflicts/"]').first().click();
      await page.getByText('Source and target').waitFor();
      await snap('mobile-conflict');
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
    noConsoleErrors();
  });

  it('shows the dashboard with the last run and open conflicts', async () => {
    await page.goto(`${BASE}/`);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByText('Entries written, last 30 days').waitFor();
    await snap('dashboard');
    noConsoleErrors();
  });

  // The hub (#14): these run last, since excluding a person and the options change what later runs do.
  it('excludes the agent without a Kimai user on the mappings page; the next run skips their entries as "user excluded"', async () => {
    const apiGet = (path) => page.evaluate(async (p) => (await fetch(p)).json(), path);
    await page.goto(`${BASE}/mappings?pipeline=${pipelineId}`);
    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Zammad agent → Kimai user', exact: true }).waitFor();
    // the seed's agent without a Kimai user: the one whose entries raised unmapped_user conflicts (other
    // agents without one, such as the admin, have no entries)
    const raised = await apiGet(`/api/conflicts?view=entries&status=open&reason=unmapped_user&pipeline_id=${pipelineId}&limit=500`);
    const emails = [...new Set(raised.items.map((c) => c.source?.user?.email).filter(Boolean))];
    assert.equal(emails.length, 1, `one agent without a Kimai user: ${JSON.stringify(emails)}`);
    const unmappedRow = page.getByRole('row').filter({ hasText: `· ${emails[0]}` });
    await unmappedRow.getByText('unmapped', { exact: true }).waitFor();
    const agent = (await unmappedRow.locator('td').first().locator('div').first().innerText()).trim();
    await page.getByRole('checkbox', { name: `Exclude ${agent} from sync`, exact: true }).check();
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await page.getByRole('region', { name: 'Preview of the changes' }).getByText(/ would change\.$/).waitFor({ timeout: RUN_TIMEOUT });
    await page.getByRole('button', { name: 'Save mappings' }).click();
    await page.getByText('1 mapping change saved').first().waitFor();
    await page.getByRole('row').filter({ hasText: agent }).getByText('excluded from sync', { exact: true }).waitFor();
    const users = await apiGet(`/api/mappings?pipeline_id=${pipelineId}&kind=user`);
    const m = users.items.find((x) => x.source_label === agent);
    assert.ok(m, `a user mapping for ${agent}: ${JSON.stringify(users.items)}`);
    assert.deepEqual([m.sync, m.target_key ?? null], [false, null]);
    await snap('mappings-users-excluded');

    await page.goto(`${BASE}/sync?pipeline=${pipelineId}`);
    await page.getByText(/No run in progress|Run #\d+/).first().waitFor();
    await page.getByRole('button', { name: 'Run now' }).click();
    const started = page.getByText(/^Run #\d+ — progress is shown below\.$/);
    await started.waitFor();
    const id = Number((await started.innerText()).match(/#(\d+)/)[1]);
    await page.locator('p', { hasText: 'Last run:' }).getByRole('link', { name: `#${id}`, exact: true }).waitFor({ timeout: RUN_TIMEOUT });
    const run = await apiGet(`/api/sync/runs/${id}`);
    const excluded = run.items.filter((i) => i.outcome === 'skip' && i.message === 'user excluded');
    assert.ok(excluded.length > 0, `run #${id} skips entries as user excluded: ${JSON.stringify(run.stats)}`);
    assert.ok(!run.items.some((i) => /unmapped_user/.test(i.reason ?? '')), 'no unmapped_user conflicts any more');

    await page.goto(`${BASE}/sync/runs/${id}`);
    await page.getByRole('heading', { name: `Run #${id}` }).waitFor();
    await page.getByRole('button', { name: /^Skip \(\d+\)$/ }).click();
    const row = page.getByRole('row').filter({ has: page.getByRole('cell', { name: excluded[0].source_key, exact: true }) });
    await row.getByText('User excluded', { exact: true }).waitFor();
    await page.getByRole('list', { name: 'Why entries were skipped' }).getByText(/excluded from sync on the mappings page/).waitFor();
    await snap('run-detail-user-excluded');
    // their open unmapped_user conflicts are closed by the run
    const open = await apiGet(`/api/conflicts?view=entries&status=open&reason=unmapped_user&pipeline_id=${pipelineId}`);
    assert.equal(open.total, 0, JSON.stringify(open.items.map((c) => c.source_key)));
    noConsoleErrors();
  });

  it('round-trips the pipeline options through the form; mirroring is not offered for a source that cannot create projects', async () => {
    await page.goto(`${BASE}/pipelines/${pipelineId}`);
    const byName = page.getByLabel('Match projects and activities by name');
    const running = page.getByLabel('Carry running entries');
    await byName.waitFor();
    assert.equal(await byName.isChecked(), false);
    assert.equal(await running.isChecked(), false);
    // no kind has create_projects yet: the section says why, in the kinds' own words
    const mirror = page.getByRole('checkbox', { name: 'Mirror Kimai projects into Zammad' });
    assert.equal(await mirror.isDisabled(), true);
    await page.getByText(/^Not available: Zammad cannot create projects/).waitFor();
    await byName.check();
    await running.check();
    await snap('pipeline-form-options');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Pipeline saved').first().waitFor();
    const got = await page.evaluate(async (pid) => (await fetch(`/api/pipelines/${pid}`)).json(), pipelineId);
    assert.deepEqual(
      [got.options.match_by_name, got.options.include_running, got.options.mirror_projects],
      [true, true, { enabled: false, client_key: null }],
      JSON.stringify(got.options),
    );
    await page.reload();
    await page.getByLabel('Match projects and activities by name').waitFor();
    assert.equal(await page.getByLabel('Match projects and activities by name').isChecked(), true);
    assert.equal(await page.getByLabel('Carry running entries').isChecked(), true);

    // what the form never sends, the server refuses with a 422 naming the field
    const refused = await page.evaluate(
      async ([pid, p]) => {
        const r = await fetch(`/api/pipelines/${pid}`, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: p.name, source_connector_id: p.source_connector_id, target_connector_id: p.target_connector_id, options: { mirror_projects: { enabled: true } } }),
        });
        return { status: r.status, body: await r.json() };
      },
      [pipelineId, got],
    );
    assert.equal(refused.status, 422, JSON.stringify(refused));
    assert.equal(refused.body.error.details.field, 'options.mirror_projects.enabled');
    assert.match(refused.body.error.message, /cannot create projects/);
    b.consoleErrors.splice(0, b.consoleErrors.length, ...b.consoleErrors.filter((e) => !/status of 422/.test(e)));
    noConsoleErrors();
  });
});
