// The conflicts page grouped by cause (#18) against the REAL server and its simulators (started by
// e2e/run.sh, which sets TIMEBRIDGE_URL, TIMEBRIDGE_ADMIN_PASSWORD, ZAMMAD_URL, ZAMMAD_TOKEN, KIMAI_URL,
// KIMAI_TOKEN). The file sets up its own state: its own connectors and a pipeline without a schedule,
// whose activities and projects are mapped and whose agents that have a Kimai user are excluded from sync,
// so that its one sync writes nothing and leaves the seed's agent without a Kimai user as an open
// "unmapped user" group. That group is then fixed on the page: a Kimai user picked in the picker, a
// preview, apply, the run's progress and the group gone. Every wait has a deadline; no fixed sleeps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, login, shot } from '../lib.mjs';

const NEEDED = ['TIMEBRIDGE_URL', 'TIMEBRIDGE_ADMIN_PASSWORD', 'ZAMMAD_URL', 'ZAMMAD_TOKEN', 'KIMAI_URL', 'KIMAI_TOKEN'];
const missing = NEEDED.filter((n) => !process.env[n]);
const BASE = (process.env.TIMEBRIDGE_URL ?? '').replace(/\/$/, '');
const RUN_TIMEOUT = Number(process.env.E2E_RUN_TIMEOUT_MS || 180_000);

describe('conflicts by cause against the real server', { concurrency: false, skip: missing.length ? `needs ${missing.join(', ')} (run e2e/run.sh)` : false }, () => {
  let b;
  let page;
  let pipelineId;
  let group; // the open unmapped_user group of the pipeline, as the API lists it
  const noConsoleErrors = () => assert.deepEqual(b.consoleErrors, [], 'console errors');
  const call = async (method, path, body) => {
    const r = await page.evaluate(
      async ([m, p, bd]) => {
        const res = await fetch(p, { method: m, headers: { 'Content-Type': 'application/json' }, body: bd === undefined ? undefined : JSON.stringify(bd) });
        return { status: res.status, body: res.status === 204 ? null : await res.json() };
      },
      [method, path, body],
    );
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  /** Polls `GET /api/sync/runs/{id}` until the run has finished (deadline RUN_TIMEOUT). */
  const waitForRun = async (id) => {
    const deadline = Date.now() + RUN_TIMEOUT;
    for (;;) {
      const run = await call('GET', `/api/sync/runs/${id}`);
      if (!['queued', 'running'].includes(run.status)) return run;
      assert.ok(Date.now() < deadline, `run #${id} still ${run.status}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  /** Screenshot once no "Loading…" indicator is left on the page. */
  const snap = async (name) => {
    await page.waitForFunction(() => ![...document.querySelectorAll('[role="status"]')].some((e) => /Loading/.test(e.textContent ?? '')));
    await shot(page, name);
  };

  before(async () => {
    b = await launch();
    page = b.page;
    await login(page, BASE, process.env.TIMEBRIDGE_ADMIN_PASSWORD);
  });
  after(async () => {
    await b?.browser.close();
  });

  it('sets up a pipeline whose one sync leaves only the agent without a Kimai user in conflict', async () => {
    const suffix = Date.now().toString(36);
    const zammad = await call('POST', '/api/connectors', { kind: 'zammad', name: `Helpdesk for groups ${suffix}`, base_url: process.env.ZAMMAD_URL, api_token: process.env.ZAMMAD_TOKEN, settings: {} });
    const kimai = await call('POST', '/api/connectors', { kind: 'kimai', name: `Kimai for groups ${suffix}`, base_url: process.env.KIMAI_URL, api_token: process.env.KIMAI_TOKEN, settings: {} });
    const pipeline = await call('POST', '/api/pipelines', {
      name: `Groups e2e ${suffix}`,
      source_connector_id: zammad.id,
      target_connector_id: kimai.id,
      schedule: { enabled: false, interval_minutes: 360 },
      window_days: 30,
    });
    pipelineId = pipeline.id;
    const catalog = async (id, what) => (await call('GET', `/api/connectors/${id}/catalog/${what}`)).items;
    const map = (kind, source, target, extra = {}) =>
      call('POST', '/api/mappings', { pipeline_id: pipelineId, kind, source_key: source.key, source_label: source.label, target_key: target?.key ?? null, target_label: target?.label ?? null, ...extra });
    // types → activities and organizations → projects of the same name, as the seed pairs them
    const activities = await catalog(kimai.id, 'activities');
    for (const t of await catalog(zammad.id, 'types')) {
      const a = activities.find((x) => x.label === t.label);
      if (a) await map('activity', t, a);
    }
    const projects = await catalog(kimai.id, 'projects');
    for (const o of await catalog(zammad.id, 'organizations')) {
      const p = projects.find((x) => x.label === `${o.label} / ${o.label}`);
      if (p) await map('project', o, p);
    }
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
