// The rule simulator's "Preview changes" step on the mapping page and the Drift filter of the conflicts
// page (#19) against the REAL server and its simulators (started by e2e/run.sh, which sets TIMEBRIDGE_URL,
// TIMEBRIDGE_ADMIN_PASSWORD, ZAMMAD_URL, ZAMMAD_TOKEN, KIMAI_URL, KIMAI_TOKEN). The file sets up its own
// state: its own connectors and a pipeline without a schedule whose types and organizations are mapped, so
// that its first sync leaves the seed's agent without a Kimai user in "unmapped user" conflicts. A Kimai
// user picked for that agent is previewed (those conflicts, before and after) and saved. Then a synced
// entry is edited in the Kimai simulator through its API, the next run finds it changed, and the Drift
// filter shows the conflict with a bar in the chart. Every wait has a deadline; no fixed sleeps.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BASE, RUN_TIMEOUT, realSession, skipUnless } from './session.mjs';

const NEEDED = ['TIMEBRIDGE_URL', 'TIMEBRIDGE_ADMIN_PASSWORD', 'ZAMMAD_URL', 'ZAMMAD_TOKEN', 'KIMAI_URL', 'KIMAI_TOKEN'];
const KIMAI = (process.env.KIMAI_URL ?? '').replace(/\/$/, '');

describe('rule simulator preview and drift against the real server', { concurrency: false, skip: skipUnless(NEEDED) }, () => {
  let page;
  let pipelineId;
  let firstRun; // the pipeline's first sync, with its items
  const s = realSession();
  const noConsoleErrors = s.noConsoleErrors;
  const { call, waitForRun, snap } = s;
  /** Queues a sync of the pipeline and waits until it has finished. */
  const syncAndWait = async () => {
    const { run_id: id } = await call('POST', '/api/sync/manual', { pipeline_id: pipelineId });
    const run = await waitForRun(id);
    assert.notEqual(run.status, 'failed', `run #${id} failed: ${run.error}`);
    return run;
  };

  before(() => {
    ({ page } = s);
  });

  it('sets up a pipeline whose first sync leaves the agent without a Kimai user in conflict', async () => {
    const { source: zammad, target: kimai, pipeline } = await s.pipeline({
      name: 'Simulator e2e',
      source: { kind: 'zammad', system: 'ZAMMAD' },
      target: { kind: 'kimai', system: 'KIMAI' },
    });
    pipelineId = pipeline.id;
    await s.mapZammadToKimaiByName(pipelineId, zammad, kimai);
    firstRun = await syncAndWait();
    assert.ok(firstRun.items.some((i) => i.target_id && ['create', 'update', 'in_sync'].includes(i.outcome)), `the first run writes or adopts entries: ${JSON.stringify(firstRun.stats)}`);
    const raised = await call('GET', `/api/conflicts?view=entries&status=open&reason=unmapped_user&pipeline_id=${pipelineId}&limit=500`);
    assert.ok(raised.total > 0, 'the agent without a Kimai user raised conflicts');
  });

  it('previews a Kimai user for the unmapped agent as the entries it would change, before and after, then saves it', async () => {
    const raised = await call('GET', `/api/conflicts?view=entries&status=open&reason=unmapped_user&pipeline_id=${pipelineId}&limit=500`);
    const emails = [...new Set(raised.items.map((c) => c.source?.user?.email).filter(Boolean))];
    assert.equal(emails.length, 1, `one agent without a Kimai user: ${JSON.stringify(emails)}`);
    const keys = new Set(raised.items.map((c) => c.source.key));

    await page.goto(`${BASE}/mappings?pipeline=${pipelineId}`);
    await page.getByRole('tab', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Zammad agent → Kimai user', exact: true }).waitFor();
    const row = page.getByRole('row').filter({ hasText: `· ${emails[0]}` });
    await row.getByText('unmapped', { exact: true }).waitFor();
    const agent = (await row.locator('td').first().locator('div').first().innerText()).trim();
    // the Kimai user the server suggests for the agent (the conflicts page's picker offers the same), else the
    // catalog's first; Kimai may refuse some entries of a user (a predicted refusal is a conflict of its own)
    const groups = await call('GET', `/api/conflicts/groups?status=open&reason=unmapped_user&pipeline_id=${pipelineId}`);
    assert.equal(groups.items.length, 1);
    const suggested = (await call('GET', `/api/conflicts/groups/suggestions?group=${encodeURIComponent(groups.items[0].id)}`)).items[0];
    const picker = page.getByRole('combobox', { name: `Kimai user for ${agent}`, exact: true });
    await picker.click();
    const options = page.getByRole('listbox').getByRole('option');
    const option = suggested ? options.filter({ has: page.locator('span', { hasText: suggested.target_label }) }).first() : options.nth(1); // option 0 is "none"
    const chosen = (await option.locator('span').first().innerText()).trim();
    await option.click();
    await picker.filter({ hasText: chosen }).waitFor();
    await page.getByText('1 unsaved change').waitFor();

    await page.getByRole('button', { name: 'Preview changes' }).click();
    const preview = page.getByRole('region', { name: 'Preview of the changes' });
    const summary = preview.getByText(/^\d+ of \d+ entries would change\.$/);
    await summary.waitFor({ timeout: RUN_TIMEOUT });
    const [changed] = (await summary.innerText()).match(/\d+/);
    // exactly the agent's entries change: each was an "unmapped user" conflict and is written now
    assert.equal(Number(changed), keys.size, await summary.innerText());
    const counts = await preview.getByRole('list', { name: 'Changed entries by outcome after saving' }).innerText();
    assert.match(counts, /\d+ (to create|to update|in sync)/, counts);
    await snap('mappings-preview');
    // the first ten rows, then all
    const showAll = preview.getByRole('button', { name: `Show all ${keys.size}` });
    if (keys.size > 10) await showAll.click();
    const table = preview.getByRole('table', { name: 'Entries before and after the changes' });
    const rows = table.locator('tbody tr');
    await rows.nth(keys.size - 1).waitFor();
    assert.equal(await rows.count(), keys.size);
    const user = chosen.replace(/\s*<[^>]*>$/, ''); // the catalog labels users "Name <e-mail>"
    let writtenRows = 0;
    for (let i = 0; i < keys.size; i++) {
      const r = rows.nth(i);
      const key = (await r.getByRole('cell').first().locator('div').last().innerText()).trim().replace(/^#/, '');
      assert.ok(keys.has(key), `a row of the agent's entries: ${key}`);
      await r.getByRole('cell').nth(1).getByText('Unmapped user').waitFor();
      await r.getByRole('cell').nth(1).getByText('conflict', { exact: true }).waitFor();
      const afterText = await r.getByRole('cell').nth(2).innerText();
      assert.doesNotMatch(afterText, /Unmapped user/, 'no longer unmapped');
      if (/^conflict/.test(afterText)) continue; // a refusal Kimai's master data predicts
      writtenRows += 1;
      assert.ok(afterText.includes(user), `written as ${user}: ${afterText}`);
    }
    assert.ok(writtenRows > 0, 'some of the entries would be written');

    await preview.getByRole('button', { name: 'Save mappings' }).click();
    await page.getByText('1 mapping change saved').first().waitFor();
    await preview.waitFor({ state: 'detached' });
    const users = await call('GET', `/api/mappings?pipeline_id=${pipelineId}&kind=user`);
    const m = users.items.find((x) => x.source_label === agent);
    assert.ok(m && m.sync && m.target_label === chosen, `the mapping is stored: ${JSON.stringify(m)}`);
    noConsoleErrors();
  });

  it('shows an entry edited in Kimai after a sync under the Drift filter, with a bar in the chart', async () => {
    const written = firstRun.items.find((i) => i.target_id && ['create', 'update', 'in_sync'].includes(i.outcome));
    // someone edits the synced entry in Kimai (the simulator's API, as Kimai's own)
    const r = await fetch(`${KIMAI}/api/timesheets/${written.target_id}`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${process.env.KIMAI_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ description: 'edited by hand in Kimai' }),
    });
    assert.equal(r.status, 200, `PATCH timesheet ${written.target_id}: ${r.status} ${await r.text()}`);
    const run = await syncAndWait();
    assert.ok(run.stats.conflicts > 0, `the run finds the edit: ${JSON.stringify(run.stats)}`);
    const drift = await call('GET', `/api/conflicts?drift=true&status=all&pipeline_id=${pipelineId}`);
    const conflict = drift.items.find((c) => c.source?.key === written.source_key);
    assert.ok(conflict, `a drift conflict for ${written.source_key}: ${JSON.stringify(drift.items.map((c) => [c.reason, c.source?.key]))}`);
    assert.equal(conflict.reason, 'target_modified');

    await page.goto(`${BASE}/conflicts?pipeline_id=${pipelineId}&view=entries`);
    // The list first: a click while the page still renders its first answer can be lost.
    await page.getByRole('table').waitFor();
    await page.getByLabel('Drift only (edited or deleted in the target)').check();
    await page.waitForURL(/drift=1/);
    await page.getByRole('heading', { name: 'Drift over the last 30 days' }).waitFor();
    const link = page.getByRole('link', { name: `#${conflict.id} Target modified`, exact: true });
    await link.waitFor();
    await page.getByRole('row').filter({ has: link }).getByText('edited by hand in Kimai').waitFor();
    // only drift is listed: every conflict link on the page is one of target_modified / target_deleted
    const reasons = await page.getByRole('link', { name: /^#\d+ / }).allInnerTexts();
    assert.ok(reasons.length > 0 && reasons.every((t) => /Target (modified|deleted)$/.test(t)), JSON.stringify(reasons));
    // the chart counts today's drift: its label has the total and one bar is higher than zero
    const chart = page.getByRole('img', { name: /^Synced entries edited or deleted in the target: total \d+ over 30 days$/ });
    await chart.waitFor();
    const total = Number((await chart.getAttribute('aria-label')).match(/total (\d+)/)[1]);
    assert.equal(total, drift.total, 'the chart counts the pipeline’s drift');
    const bars = await chart.locator('rect').evaluateAll((rs) => rs.filter((x) => Number(x.getAttribute('height')) > 0).length);
    assert.ok(bars >= 1, 'a bar for today');
    await snap('conflicts-drift');
    noConsoleErrors();
  });
});
