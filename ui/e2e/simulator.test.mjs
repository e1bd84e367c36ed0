// The mapping page's "Preview changes" step (rule simulator, #19) against the in-memory mock: unsaved
// mappings go to POST /api/pipelines/{id}/simulate, the answer is a before/after table with the changed
// fields marked and the counts by outcome; Back returns to editing with the drafts kept, Save stores them.
// Errors of the simulator are shown with the row they are about, and saving still works.
// Run: `npm run e2e` (or node --test e2e/simulator.test.mjs); needs `npm run build`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, login, pageFetch, shot, target } from './lib.mjs';

describe('timebridge UI: preview of mapping changes (mock)', { concurrency: false, skip: process.env.TIMEBRIDGE_URL ? 'mock only (the real server is covered by e2e/real)' : false }, () => {
  let t;
  let b;
  let page;
  const api = (method, path, body) => pageFetch(page, method, path, body);
  const noConsoleErrors = () => assert.deepEqual(b.consoleErrors, [], 'console errors');
  const region = () => page.getByRole('region', { name: 'Preview of the changes' });

  /** The Users tab of pipeline 1 with the Kimai user `user` picked for the agent Chris Meyer (not saved). */
  async function pickForChris(user) {
    await page.goto(`${t.baseUrl}/mappings?pipeline=1`);
    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Zammad agent → Kimai user', exact: true }).waitFor();
    const combo = page.getByRole('combobox', { name: 'Kimai user for Chris Meyer', exact: true });
    await combo.click();
    await page.getByRole('listbox').getByRole('option').filter({ has: page.locator('span', { hasText: new RegExp(`^${user}$`) }) }).click();
    await combo.filter({ hasText: user }).waitFor();
    await page.getByText('1 unsaved change').waitFor();
  }

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

  it('previews a mapping as a before/after table, goes back to editing with the draft kept, then saves', async () => {
    await pickForChris('chris');
    let sent = null;
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/api/pipelines/1/simulate')) sent = r.postDataJSON();
    });
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await region().getByText('3 of 24 entries would change.').waitFor();
    // what was sent: the unsaved mapping, as the save would store it
    assert.deepEqual(sent, { mappings: [{ pipeline_id: 1, kind: 'user', source_key: '5', source_label: 'Chris Meyer', target_key: '4', target_label: 'chris', billable: null, sync: true }] });
    const counts = region().getByRole('list', { name: 'Changed entries by outcome after saving' });
    assert.equal((await counts.innerText()).replace(/\s+/g, ' ').trim(), '3 to create');
    const table = region().getByRole('table', { name: 'Entries before and after the changes' });
    const rows = table.getByRole('row').filter({ hasText: 'Chris Meyer' });
    assert.equal(await rows.count(), 3);
    const first = rows.first();
    const [beforeCell, afterCell] = [first.getByRole('cell').nth(1), first.getByRole('cell').nth(2)];
    await beforeCell.getByText('conflict', { exact: true }).waitFor();
    await beforeCell.getByText('Unmapped user').waitFor();
    await beforeCell.getByText('Nothing written.').waitFor();
    await afterCell.getByText('create', { exact: true }).waitFor();
    // the entry it would write, as the chosen Kimai user; nothing to mark: before, nothing was written
    await afterCell.getByText('chris', { exact: true }).waitFor();
    assert.equal(await first.locator('mark').count(), 1, 'only the reason is marked');
    assert.equal(await beforeCell.locator('mark').textContent(), 'Unmapped user (changed)');
    await shot(page, 'mappings-preview');
    // nothing saved yet
    const none = await api('GET', '/api/mappings?pipeline_id=1&kind=user');
    assert.equal(none.body.items.filter((x) => x.source_key === '5').length, 0);

    await region().getByRole('button', { name: 'Back' }).click();
    await region().waitFor({ state: 'detached' });
    await page.getByRole('combobox', { name: 'Kimai user for Chris Meyer', exact: true }).filter({ hasText: 'chris' }).waitFor();
    await page.getByText('1 unsaved change').waitFor();

    await page.getByRole('button', { name: 'Preview changes' }).click();
    await region().getByText('3 of 24 entries would change.').waitFor();
    await region().getByRole('button', { name: 'Save mappings' }).click();
    await page.getByText('1 mapping change saved').first().waitFor();
    await region().waitFor({ state: 'detached' });
    const stored = await api('GET', '/api/mappings?pipeline_id=1&kind=user');
    const m = stored.body.items.find((x) => x.source_key === '5');
    assert.deepEqual([m?.target_key, m?.target_label, m?.sync], ['4', 'chris', true]);
    noConsoleErrors();
  });

  it('shows a stored mapping changed or removed as the fields it changes on a synced entry', async () => {
    await page.goto(`${t.baseUrl}/mappings?pipeline=1`);
    await page.getByRole('tab', { name: 'Activities', selected: true }).waitFor();
    await page.getByRole('combobox', { name: 'Kimai activity for Consulting', exact: true }).filter({ hasText: 'Consulting' }).waitFor();
    await page.getByRole('combobox', { name: 'Kimai activity for Consulting', exact: true }).click();
    await page.getByRole('listbox').getByRole('option').filter({ has: page.locator('span', { hasText: /^Field service$/ }) }).click();
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await region().getByText('1 of 24 entries would change.').waitFor();
    const row = region().getByRole('row').filter({ hasText: 'ta-sim-2' });
    await row.getByRole('cell').nth(1).getByText('in sync', { exact: true }).waitFor();
    await row.getByRole('cell').nth(2).getByText('update', { exact: true }).waitFor();
    // only the activity differs: the one marked field on each side
    assert.deepEqual(await row.getByRole('cell').nth(1).locator('mark').allTextContents(), ['Consulting (changed)']);
    assert.deepEqual(await row.getByRole('cell').nth(2).locator('mark').allTextContents(), ['Field service (changed)']);
    await region().getByRole('button', { name: 'Back' }).click();
    await page.getByRole('button', { name: 'Discard' }).click();
    noConsoleErrors();
  });

  it('previews a changed rounding policy from the pipeline form as the entries it would write differently, then saves', async () => {
    await page.goto(`${t.baseUrl}/pipelines/1`);
    const previewButton = page.getByRole('button', { name: 'Preview changes' });
    await previewButton.waitFor();
    assert.equal(await previewButton.isDisabled(), true, 'nothing to preview before an option changes');
    await page.locator('#rounding-default-mode').selectOption('up');
    await page.locator('#rounding-default-step').fill('15');
    await page.getByText('1 option that change how entries are written').waitFor();
    let sent = null;
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/api/pipelines/1/simulate')) sent = r.postDataJSON();
    });
    await previewButton.click();
    await region().getByText('1 of 24 entries would change.').waitFor();
    // only the planning option that changed is sent
    assert.deepEqual(Object.keys(sent), ['options']);
    assert.deepEqual(Object.keys(sent.options), ['rounding']);
    assert.equal(sent.options.rounding.mode, 'up');
    assert.equal(sent.options.rounding.step_seconds, 900);
    const row = region().getByRole('row').filter({ hasText: 'ta-sim-rounding' });
    // the end and the duration differ (the end by 6 min 40 s): marked on both sides
    const [beforeMarks, afterMarks] = [await row.getByRole('cell').nth(1).locator('mark').allTextContents(), await row.getByRole('cell').nth(2).locator('mark').allTextContents()];
    assert.equal(beforeMarks.length, 2, JSON.stringify(beforeMarks));
    assert.match(beforeMarks[0], /\d\d:\d\d .*\(changed\)$/);
    assert.equal(beforeMarks[1], '1:23 (changed)');
    assert.equal(afterMarks.length, 2, JSON.stringify(afterMarks));
    assert.equal(afterMarks[1], '1:30 (changed)');
    await shot(page, 'pipeline-form-preview');
    await row.getByRole('cell').nth(2).getByText('update', { exact: true }).waitFor();
    // an option changed while previewing closes the preview (it was made for the old value)
    await page.locator('#rounding-default-step').fill('30');
    await region().waitFor({ state: 'detached' });
    await previewButton.click();
    await region().getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Pipeline saved').first().waitFor();
    await region().waitFor({ state: 'detached' });
    const got = await api('GET', '/api/pipelines/1');
    assert.equal(got.body.options.rounding?.step_seconds, 1800);
    noConsoleErrors();
  });

  it('shows a failing preview clearly, names the row a refused field is about, and still saves', async () => {
    await pickForChris('admin'); // Chris is mapped to "chris" by the first test

    await page.route('**/api/pipelines/1/simulate', (r) =>
      r.fulfill({ status: 502, contentType: 'application/json', body: JSON.stringify({ error: { code: 'remote_unavailable', message: 'Kimai did not answer within 30 s', details: {} } }) }),
    );
    await page.getByRole('button', { name: 'Preview changes' }).click();
    const alert = region().getByRole('alert');
    await alert.getByText('Could not preview the changes').waitFor();
    await alert.getByText('Kimai did not answer within 30 s').waitFor();
    await alert.getByText(/did not answer; check the connectors, or save without a preview/).waitFor();
    await region().getByRole('button', { name: 'Back' }).click();

    await page.unroute('**/api/pipelines/1/simulate');
    await page.route('**/api/pipelines/1/simulate', (r) =>
      r.fulfill({ status: 422, contentType: 'application/json', body: JSON.stringify({ error: { code: 'validation_failed', message: 'mappings[0].target_key: no such Kimai user', details: { field: 'mappings[0].target_key' } } }) }),
    );
    await page.getByRole('button', { name: 'Preview changes' }).click();
    await region().getByRole('alert').getByText('Field: Chris Meyer (target_key)').waitFor();
    await page.unroute('**/api/pipelines/1/simulate');

    await region().getByRole('button', { name: 'Save mappings' }).click();
    await page.getByText('1 mapping change saved').first().waitFor();
    const stored = await api('GET', '/api/mappings?pipeline_id=1&kind=user');
    assert.equal(stored.body.items.find((x) => x.source_key === '5')?.target_key, '3');
    // the browser logs the two refused previews; nothing else
    assert.deepEqual(
      b.consoleErrors.map((e) => e.replace(/ @ .*$/, '')),
      ['[error] Failed to load resource: the server responded with a status of 502 (Bad Gateway)', '[error] Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)'],
    );
  });
});
