// The conflicts page grouped by cause, with the fix in place (#18), against the in-memory mock:
// the grouped view and its toggle, fixing a missing user mapping from the picker (suggestions on top)
// with preview and apply, a pipeline default from a conflict's own page, a refusal in the target
// (hint, link, retry preview) and skipping a whole group with a note.
// Run: `npm run e2e` (or node --test e2e/groups.test.mjs); needs `npm run build`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, login, shot, target } from './lib.mjs';

describe('timebridge UI: conflicts by cause (mock)', { concurrency: false, skip: process.env.TIMEBRIDGE_URL ? 'mock only (the real server is covered by e2e/real)' : false }, () => {
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
  const group = (name) => page.getByRole('article', { name, exact: true });

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

  it('shows the open conflicts grouped by cause, largest first, and the flat list on request', async () => {
    await page.goto(`${t.baseUrl}/conflicts`);
    const chris = group('Chris Meyer');
    await chris.waitFor();
    // the largest group first: three entries of the agent without a Kimai user
    const first = page.getByRole('article').first();
    assert.equal(await first.getByRole('heading').innerText(), 'Chris Meyer');
    await chris.getByText('Unmapped user', { exact: true }).waitFor();
    await chris.getByText('Zammad agent', { exact: true }).waitFor();
    assert.equal(await chris.locator('dd').nth(0).innerText(), '3');
    assert.equal(await chris.locator('dd').nth(1).innerText(), '3:00'); // 0:30 + 1:00 + 1:30
    await chris.getByText(/Customers: Acme GmbH/).waitFor();
    await chris.getByText(/^Newest: #\d+, worked .*\((Europe\/Berlin|UTC)\)/).waitFor();
    await chris.getByText('Examples (3 of 3)').click();
    assert.equal(await chris.locator('li a[href^="/conflicts/"]').count(), 3);
    await group('Kimai project “Internal” is not visible').getByText('Kimai rule', { exact: true }).waitFor();
    await shot(page, 'conflict-groups');

    await page.getByRole('button', { name: 'All entries' }).click();
    await page.waitForURL(/view=entries/);
    await page.locator('table a[href^="/conflicts/"]').first().waitFor();
    assert.equal(await page.getByRole('article').count(), 0);
    // the filters apply to both views
    await page.getByLabel('Reason').selectOption('unmapped_project');
    await page.waitForURL(/reason=unmapped_project/);
    await page.getByRole('button', { name: 'By cause' }).click();
    await group('Globex AG').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('article').length === 1);
    assert.doesNotMatch(page.url(), /view=/);
    noConsoleErrors();
  });

  it('fixes a missing user mapping from the picker with a suggestion on top, previews and applies it; the group goes away', async () => {
    await page.goto(`${t.baseUrl}/conflicts`);
    const chris = group('Chris Meyer');
    await chris.getByRole('button', { name: 'Fix the mapping…' }).click();
    const fix = page.getByRole('region', { name: 'Fix for Chris Meyer' });
    // the Kimai user "chris" resembles the agent's name: suggested, and first in the picker
    await fix.getByRole('list', { name: 'Suggestions' }).getByRole('button', { name: /^chris \(similar name\)$/ }).waitFor();
    assert.equal(await fix.getByRole('button', { name: 'Apply' }).isDisabled(), true, 'apply needs a preview first');
    await fix.getByRole('combobox', { name: 'Kimai user for Chris Meyer' }).click();
    const options = page.getByRole('listbox').getByRole('option');
    assert.match(await options.first().innerText(), /chris\s+suggested: similar name/);
    await options.filter({ hasText: /^chris/ }).click();
    await fix.getByRole('button', { name: /^chris \(similar name\)$/, pressed: true }).waitFor();

    await fix.getByRole('button', { name: 'Preview' }).click();
    const preview = fix.getByRole('region', { name: 'Fix preview' });
    await preview.getByText('3 to create').waitFor();
    assert.equal(await preview.getByRole('row').filter({ hasText: 'create' }).count(), 3);
    await preview.getByRole('row').filter({ hasText: /chris · Acme — Support contract · Support · 1:30/ }).waitFor();
    await shot(page, 'conflict-fix-preview');

    await fix.getByRole('button', { name: 'Apply' }).click();
    // the run's progress, then a message naming it; the group is gone
    await page.getByRole('progressbar', { name: /^Progress of run #\d+$/ }).waitFor();
    const done = page.getByRole('status').filter({ hasText: /^Run #\d+ fixed “Chris Meyer” \(unmapped user\): 3 created\./ });
    await done.waitFor();
    const runId = Number((await done.innerText()).match(/#(\d+)/)[1]);
    await done.getByRole('link', { name: `Open run #${runId}` }).waitFor();
    await chris.waitFor({ state: 'detached' });
    const run = await api('GET', `/api/sync/runs/${runId}`);
    assert.deepEqual([run.body.trigger, run.body.status, run.body.stats.created], ['resolution', 'succeeded', 3]);
    const users = await api('GET', '/api/mappings?pipeline_id=1&kind=user');
    assert.deepEqual(
      users.body.items.filter((m) => m.source_key === '5').map((m) => [m.target_key, m.target_label, m.sync]),
      [['4', 'chris', true]],
    );
    noConsoleErrors();
  });

  it('sets a pipeline default from a conflict’s own page through its group', async () => {
    const list = await api('GET', '/api/conflicts?status=open&reason=unmapped_project');
    const c = list.body.items[0];
    await page.goto(`${t.baseUrl}/conflicts/${c.id}`);
    await page.getByText('Cause: Globex AG').waitFor();
    const fix = page.getByRole('region', { name: 'Fix for Globex AG' });
    await fix.getByRole('radio', { name: /^Use as the pipeline default/ }).check();
    await fix.getByRole('combobox', { name: 'Default Kimai project' }).click();
    await page.getByRole('listbox').getByRole('option').filter({ hasText: /^Internal/ }).click();
    await fix.getByRole('button', { name: 'Preview' }).click();
    await fix.getByRole('region', { name: 'Fix preview' }).getByText('1 to create').waitFor();
    // a changed choice needs a new preview
    await fix.getByRole('radio', { name: /^Map Zammad organization/ }).check();
    assert.equal(await fix.getByRole('region', { name: 'Fix preview' }).count(), 0);
    await fix.getByRole('radio', { name: /^Use as the pipeline default/ }).check();
    await fix.getByRole('region', { name: 'Fix preview' }).waitFor();
    await fix.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('status').filter({ hasText: /^Run #\d+ fixed “Globex AG”/ }).waitFor();
    await page.getByText(/Resolved with/).waitFor();
    const pl = await api('GET', '/api/pipelines/1');
    assert.equal(pl.body.options.default_project, '3');
    noConsoleErrors();
  });

  it('explains a refusal in the target with its hint and link, and previews a retry', async () => {
    await page.goto(`${t.baseUrl}/conflicts?reason=target_rejected`);
    const g = group('Kimai project “Internal” is not visible');
    await g.getByRole('button', { name: 'Fix in the target…' }).click();
    const fix = page.getByRole('region', { name: 'Fix for Kimai project “Internal” is not visible' });
    await fix.getByText(/Make the project “Internal” visible in Kimai/).waitFor();
    assert.equal(await fix.getByRole('link', { name: 'Open in Kimai' }).getAttribute('href'), 'http://127.0.0.1:3002/en/admin/project/3/edit');
    await fix.getByRole('button', { name: 'Retry all 2: preview' }).click();
    // nothing changed in Kimai yet: the preview says the retry would not help
    await fix.getByRole('alert').filter({ hasText: 'Every entry would still be a conflict' }).waitFor();
    await fix.getByText('2 still in conflict').waitFor();
    assert.equal(await fix.getByRole('button', { name: 'Retry all 2', exact: true }).isDisabled(), false);
    noConsoleErrors();
  });

  it('skips a whole group after a confirmation, with a note', async () => {
    await page.goto(`${t.baseUrl}/conflicts?reason=negative_duration`);
    const g = page.getByRole('article').first();
    await g.getByText('Negative duration', { exact: true }).waitFor();
    const ids = await api('GET', '/api/conflicts?status=open&reason=negative_duration');
    await g.getByRole('button', { name: ids.body.total === 1 ? 'Skip' : `Skip all ${ids.body.total}`, exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Note (optional)').fill('correction entries');
    await dialog.getByRole('button', { name: `Skip ${ids.body.total}`, exact: true }).click();
    await page.getByText(`${ids.body.total} conflict${ids.body.total === 1 ? '' : 's'} resolved (Skip)`).first().waitFor();
    await page.getByText('No open conflicts').waitFor();
    const c = await api('GET', `/api/conflicts/${ids.body.items[0].id}`);
    assert.deepEqual([c.body.status, c.body.resolution.action, c.body.resolution.note], ['resolved', 'skip', 'correction entries']);
    noConsoleErrors();
  });

  it('filters to drift (synced entries changed in the target) and charts it per day', async () => {
    await page.goto(`${t.baseUrl}/conflicts?view=entries`);
    // The list first: a click while the page still renders its first answer can be lost.
    await page.getByRole('table').getByText(/Target modified/i).first().waitFor();
    await page.getByLabel('Drift only (edited or deleted in the target)').check();
    await page.waitForURL(/drift=1/);
    await page.getByRole('img', { name: /Synced entries edited or deleted in the target: total/ }).waitFor();
    assert.match(page.url(), /drift=1/);
    const listed = await api('GET', '/api/conflicts?drift=true');
    assert.ok(listed.body.items.length > 0);
    assert.ok(listed.body.items.every((c) => ['target_modified', 'target_deleted'].includes(c.reason)));
    await page.getByRole('table').getByText(/Target modified/i).first().waitFor();
    await shot(page, 'conflicts-drift');
    noConsoleErrors();
  });
});
