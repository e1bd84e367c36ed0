// The conflicts page grouped by cause (#18) against the REAL server and its simulators (started by
// e2e/run.sh, which sets TIMEBRIDGE_URL, TIMEBRIDGE_ADMIN_PASSWORD, ZAMMAD_URL, ZAMMAD_TOKEN, KIMAI_URL,
// KIMAI_TOKEN). The file sets up its own state: its own connectors and a pipeline without a schedule,
// whose activities and projects are mapped and whose agents that have a Kimai user are excluded from sync,
// so that its one sync writes nothing and leaves the seed's agent without a Kimai user as an open
// "unmapped user" group. That group is then fixed on the page: a Kimai user picked in the picker, a
// preview, apply, the run's progress and the group gone. Every wait has a deadline; no fixed sleeps.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BASE, RUN_TIMEOUT, realSession, skipUnless } from './session.mjs';

const NEEDED = ['TIMEBRIDGE_URL', 'TIMEBRIDGE_ADMIN_PASSWORD', 'ZAMMAD_URL', 'ZAMMAD_TOKEN', 'KIMAI_URL', 'KIMAI_TOKEN'];

describe('conflicts by cause against the real server', { concurrency: false, skip: skipUnless(NEEDED) }, () => {
  let page;
  let pipelineId;
  let group; // the open unmapped_user group of the pipeline, as the API lists it
  const s = realSession();
  const noConsoleErrors = s.noConsoleErrors;
  const { call, waitForRun, snap, catalog } = s;

  before(() => {
    ({ page } = s);
  });

  it('sets up a pipeline whose one sync leaves only the agent without a Kimai user in conflict', async () => {
    const { source: zammad, target: kimai, pipeline } = await s.pipeline({
      name: 'Groups e2e',
      source: { kind: 'zammad', system: 'ZAMMAD' },
      target: { kind: 'kimai', system: 'KIMAI' },
    });
    pipelineId = pipeline.id;
    const map = (...args) => s.map(pipelineId, ...args);
    await s.mapZammadToKimaiByName(pipelineId, zammad, kimai);
    // agents with a Kimai user (the same e-mail) are excluded: this pipeline writes only what the fix writes
    const kimaiEmails = new Set((await catalog(kimai.id, 'users')).map((u) => String(u.extra?.email ?? '').toLowerCase()).filter(Boolean));
    const agents = await catalog(zammad.id, 'agents');
    const withUser = agents.filter((a) => kimaiEmails.has(String(a.extra?.email ?? '').toLowerCase()));
    assert.ok(withUser.length > 0 && withUser.length < agents.length, `agents with and without a Kimai user: ${JSON.stringify(agents)}`);
    for (const a of withUser) await map('user', a, null, { sync: false });

    const { run_id: runId } = await call('POST', '/api/sync/manual', { pipeline_id: pipelineId });
    const run = await waitForRun(runId);
    assert.notEqual(run.status, 'failed', `run #${runId} failed: ${run.error}`);
    assert.equal(run.stats.created, 0, `the setup run writes nothing: ${JSON.stringify(run.stats)}`);

    const groups = await call('GET', `/api/conflicts/groups?status=open&pipeline_id=${pipelineId}&reason=unmapped_user`);
    assert.equal(groups.items.length, 1, `one unmapped user group: ${JSON.stringify(groups.items.map((g) => g.cause))}`);
    group = groups.items[0];
    assert.equal(group.fix.kind, 'mapping');
    assert.equal(group.fix.mapping_kind, 'user');
    assert.ok(group.count > 0);
  });

  it('shows the pipeline’s conflicts grouped by cause', async () => {
    await page.goto(`${BASE}/conflicts?pipeline_id=${pipelineId}`);
    const card = page.getByRole('article', { name: group.cause.label, exact: true });
    await card.getByText('Unmapped user', { exact: true }).waitFor();
    await card.getByText('Zammad agent', { exact: true }).waitFor();
    assert.equal(await card.locator('dd').first().innerText(), String(group.count));
    await card.getByText(`Examples (${group.examples.length} of ${group.count})`).click();
    await card.locator(`li a[href="/conflicts/${group.examples[0].id}"]`).waitFor();
    await snap('conflict-groups');
    noConsoleErrors();
  });

  it('fixes the unmapped user group through the picker with a preview and apply; the group disappears', async () => {
    await page.goto(`${BASE}/conflicts?pipeline_id=${pipelineId}`);
    const card = page.getByRole('article', { name: group.cause.label, exact: true });
    await card.getByRole('button', { name: 'Fix the mapping…' }).click();
    const fix = page.getByRole('region', { name: `Fix for ${group.cause.label}` });
    const picker = fix.getByRole('combobox', { name: `Kimai user for ${group.fix.source_label ?? group.cause.label}` });
    await picker.click();
    // the first option: a suggestion when the server has one, else the catalog's first user
    const option = page.getByRole('listbox').getByRole('option').first();
    const chosen = (await option.locator('span').first().innerText()).trim();
    await option.click();
    await picker.filter({ hasText: chosen }).waitFor();

    await fix.getByRole('button', { name: 'Preview' }).click();
    const preview = fix.getByRole('region', { name: 'Fix preview' });
    await preview.waitFor({ timeout: RUN_TIMEOUT });
    const creates = preview.locator('li', { hasText: 'to create' });
    await creates.waitFor();
    const toCreate = Number(await creates.locator('strong').innerText());
    assert.ok(toCreate > 0, `the preview creates entries: ${await preview.innerText()}`);
    // what will be written: the entries as the chosen Kimai user (the catalog labels users "Name <e-mail>")
    const user = chosen.replace(/\s*<[^>]*>$/, '');
    await preview.getByRole('row').filter({ hasText: 'create' }).filter({ hasText: user }).first().waitFor();
    await snap('conflict-fix-preview');

    await fix.getByRole('button', { name: 'Apply' }).click();
    const done = page.getByRole('status').filter({ hasText: new RegExp(`^Run #\\d+ (fixed|partly fixed) “${group.cause.label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}”`) });
    await done.waitFor({ timeout: RUN_TIMEOUT });
    const runId = Number((await done.innerText()).match(/#(\d+)/)[1]);
    await done.getByRole('link', { name: `Open run #${runId}` }).waitFor();
    await card.waitFor({ state: 'detached' });

    const run = await call('GET', `/api/sync/runs/${runId}`);
    assert.equal(run.trigger, 'resolution');
    // the preview is a prediction: the target may still refuse a write, which then stays a conflict of its own
    assert.ok(run.stats.created > 0 && run.stats.created <= toCreate, `run #${runId} wrote entries (${toCreate} previewed): ${JSON.stringify(run.stats)}`);
    assert.match(await done.innerText(), new RegExp(`: ${run.stats.created} created`), 'the message names what the run wrote');
    const users = await call('GET', `/api/mappings?pipeline_id=${pipelineId}&kind=user`);
    const m = users.items.find((x) => x.source_key === group.fix.source_key);
    assert.ok(m && m.sync && m.target_label === chosen, `the mapping is stored: ${JSON.stringify(m)}`);
    const left = await call('GET', `/api/conflicts/groups?status=open&pipeline_id=${pipelineId}&reason=unmapped_user`);
    assert.equal(left.items.filter((g) => g.id === group.id).length, 0, 'the group is gone');
    noConsoleErrors();
  });
});
