// The hub's UI (#14) against the in-memory mock: excluding a person from sync, the pipeline options
// round-trip through the form, mirroring only for sources that can create projects, running entries.
// Run: `npm run e2e` (or node --test e2e/hub.test.mjs); needs `npm run build`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, login, shot, target } from './lib.mjs';

describe('timebridge UI: the hub (mock)', { concurrency: false, skip: process.env.TIMEBRIDGE_URL ? 'mock only (the real server is covered by e2e/real)' : false }, () => {
  let t;
  let b;
  let page;
  const api = (method, path, body) =>
    page.evaluate(
      async ([m, p, bd]) => {
        const r = await fetch(p, { method: m, headers: { 'Content-Type': 'application/json' }, body: bd === undefined ? undefined : JSON.stringify(bd) });
        return { status: r.status, body: r.status === 204 ? null : await r.json() };
      },
      [method, path, body],
    );
  const noConsoleErrors = () => assert.deepEqual(b.consoleErrors, [], 'console errors');

  before(async () => {
    t = await target();
    b = await launch();
    page = b.page;
    await login(page, t.baseUrl, t.password);
  });
  after(async () => {
    await b?.browser.close();
    await t?.close();
  });

  it('excludes a person from sync on the mappings page; the next run skips their entries as "user excluded"', async () => {
    await page.goto(`${t.baseUrl}/mappings?pipeline=1`);
    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Zammad agent → Kimai user', exact: true }).waitFor();
    const toggle = page.getByRole('checkbox', { name: 'Exclude Chris Meyer from sync' });
    assert.equal(await toggle.isChecked(), false);
    await toggle.check();
    // no target needed for an excluded person
    await page.getByRole('combobox', { name: 'Kimai user for Chris Meyer' }).filter({ hasText: 'Not needed (excluded)' }).waitFor();
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await page.getByRole('region', { name: 'Preview of the changes' }).getByText(/ would change\.$/).waitFor();
    await page.getByRole('button', { name: 'Save mappings' }).click();
    await page.getByText('1 mapping change saved').first().waitFor();
    const row = page.getByRole('row').filter({ hasText: 'Chris Meyer' });
    await row.getByText('excluded from sync').waitFor();
    await page.getByText('1 agent excluded from sync').waitFor();
    const stored = await api('GET', '/api/mappings?pipeline_id=1&kind=user');
    const m = stored.body.items.find((x) => x.source_key === '5');
    assert.deepEqual([m.sync, m.target_key], [false, null]);
    await shot(page, 'mappings-users-excluded');

    await page.reload();
    await page.getByRole('tab', { name: 'Users' }).click();
    assert.equal(await page.getByRole('checkbox', { name: 'Exclude Chris Meyer from sync' }).isChecked(), true);

    await page.goto(`${t.baseUrl}/sync?pipeline=1`);
    await page.getByRole('button', { name: /Preview \(dry run\)/ }).click();
    await page.getByText('Preview: what a sync would do').waitFor();
    await page.getByRole('button', { name: 'Skip (2)' }).click();
    const excludedRow = page.getByRole('row').filter({ hasText: 'ta-505' });
    await excludedRow.getByText('User excluded', { exact: true }).waitFor();
    await page.getByRole('list', { name: 'Why entries were skipped' }).getByText(/excluded from sync on the mappings page/).waitFor();
    await page.getByRole('row').filter({ hasText: 'ta-506' }).getByText('Still running', { exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Conflict (0)' }).count(), 1);
    await shot(page, 'sync-preview-skips');

    // included again: the mapping is removed (it had no target) and the conflict comes back
    await page.goto(`${t.baseUrl}/mappings?pipeline=1`);
    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByRole('checkbox', { name: 'Exclude Chris Meyer from sync' }).uncheck();
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await page.getByRole('region', { name: 'Preview of the changes' }).getByText(/ would change\.$/).waitFor();
    await page.getByRole('button', { name: 'Save mappings' }).click();
    await page.getByText('1 mapping change saved').first().waitFor();
    const after = await api('GET', '/api/mappings?pipeline_id=1&kind=user');
    assert.equal(after.body.items.filter((x) => x.source_key === '5').length, 0);
    noConsoleErrors();
  });

  it('round-trips the pipeline options through the form; mirroring is off for a source that cannot create projects', async () => {
    await page.goto(`${t.baseUrl}/pipelines/1`);
    const byName = page.getByLabel('Match projects and activities by name');
    const running = page.getByLabel('Carry running entries');
    await byName.waitFor();
    assert.equal(await byName.isChecked(), false);
    assert.equal(await running.isChecked(), false);
    const mirror = page.getByRole('checkbox', { name: 'Mirror Kimai projects into Zammad' });
    assert.equal(await mirror.isDisabled(), true);
    await page.getByText('Not available: Zammad cannot create projects through its API, so the Kimai projects cannot be mirrored into it.').waitFor();
    await byName.check();
    await running.check();
    await shot(page, 'pipeline-form-options');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Pipeline saved').first().waitFor();
    const got = await api('GET', '/api/pipelines/1');
    assert.deepEqual(
      { m: got.body.options.match_by_name, r: got.body.options.include_running, mirror: got.body.options.mirror_projects, d: got.body.options.default_activity },
      { m: true, r: true, mirror: { enabled: false, client_key: null }, d: '1' },
    );
    await page.reload();
    await page.getByLabel('Match projects and activities by name').waitFor();
    assert.equal(await page.getByLabel('Match projects and activities by name').isChecked(), true);
    assert.equal(await page.getByLabel('Carry running entries').isChecked(), true);

    // with include_running the running entry is carried
    await page.goto(`${t.baseUrl}/sync?pipeline=1`);
    await page.getByRole('button', { name: /Preview \(dry run\)/ }).click();
    await page.getByText('Preview: what a sync would do').waitFor();
    await page.getByRole('button', { name: 'Skip (0)' }).waitFor();

    // the server refuses mirroring for such a source (422): the API says why
    const refused = await api('PUT', '/api/pipelines/1', { name: got.body.name, source_connector_id: 1, target_connector_id: 2, options: { mirror_projects: { enabled: true } } });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.details.field, 'options.mirror_projects.enabled');
    b.consoleErrors.splice(0, b.consoleErrors.length, ...b.consoleErrors.filter((e) => !/status of 422/.test(e)));
    noConsoleErrors();
  });

  it('mirrors target projects into a source that can create projects, under a client picked from its catalog', async () => {
    const c = await api('POST', '/api/connectors', { kind: 'tracker', name: 'Tracker (e2e)', base_url: 'http://127.0.0.1:3009', api_token: 'x', settings: {} });
    assert.equal(c.status, 201);
    await page.goto(`${t.baseUrl}/pipelines/new`);
    await page.getByLabel(/^Source( \*)?$/).selectOption({ label: 'Tracker (e2e) (Tracker)' });
    await page.getByLabel(/^Target( \*)?$/).selectOption({ label: 'Kimai (demo) (Kimai)' });
    const mirror = page.getByRole('checkbox', { name: 'Mirror Kimai projects into Tracker' });
    assert.equal(await mirror.isDisabled(), false);
    await mirror.check();
    const client = page.getByRole('combobox', { name: 'Client for new projects' });
    await client.click();
    await page.getByRole('listbox').getByRole('option').filter({ hasText: 'Globex AG' }).click();
    await client.filter({ hasText: 'Globex AG' }).waitFor();
    await page.getByLabel('Carry running entries').check();
    await shot(page, 'pipeline-form-mirror');
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await page.waitForURL(/\/mappings\?pipeline=\d+/);
    const id = Number(new URL(page.url()).searchParams.get('pipeline'));
    const got = await api('GET', `/api/pipelines/${id}`);
    assert.deepEqual(got.body.options.mirror_projects, { enabled: true, client_key: 'c2' });
    assert.equal(got.body.options.include_running, true);
    assert.equal(got.body.options.match_by_name, false);

    await page.goto(`${t.baseUrl}/pipelines/${id}`);
    await page.getByRole('checkbox', { name: 'Mirror Kimai projects into Tracker' }).waitFor();
    assert.equal(await page.getByRole('checkbox', { name: 'Mirror Kimai projects into Tracker' }).isChecked(), true);
    await page.getByRole('combobox', { name: 'Client for new projects' }).filter({ hasText: 'Globex AG' }).waitFor();
    noConsoleErrors();
  });

  it('shows a running entry with a badge, its diff on "running" and how it was matched by name', async () => {
    const list = await api('GET', '/api/conflicts?status=open&limit=100');
    const c = list.body.items.find((x) => x.source?.running);
    assert.ok(c, 'the mock has a conflict with a running source entry');
    await page.goto(`${t.baseUrl}/conflicts/${c.id}`);
    await page.getByText('Source and target').waitFor();
    const runningRow = page.getByRole('row').filter({ has: page.getByRole('cell', { name: /^Running/ }) });
    await runningRow.getByText('differs').waitFor();
    await runningRow.getByText('running', { exact: true }).waitFor();
    await page.getByRole('row').filter({ has: page.getByRole('cell', { name: /^Duration/ }) }).getByText('running', { exact: true }).waitFor();
    await page.getByText('Raw differences (3)').click();
    await page.getByText('running: running → ended').waitFor();
    await page.getByText('duration_seconds: none yet (running) → 5400').waitFor();
    await page.getByText('How it was mapped').waitFor();
    await page.getByText('matched by name', { exact: true }).waitFor();
    await shot(page, 'conflict-running');
    // the list marks it too
    await page.goto(`${t.baseUrl}/conflicts?view=entries&status=open&reason=target_modified`);
    await page.getByRole('row').filter({ has: page.locator(`a[href="/conflicts/${c.id}"]`) }).getByText('running', { exact: true }).first().waitFor();
    noConsoleErrors();
  });
});
