// Undoing a run against the REAL server and its simulators (started by e2e/run.sh, which sets
// TIMEBRIDGE_URL, TIMEBRIDGE_ADMIN_PASSWORD, TIMETRACKER_URL, TIMETRACKER_TOKEN, KIMAI_URL, KIMAI_TOKEN).
// The file sets up its own state: a TimeTracker → Kimai pipeline without a schedule (the other files write
// Zammad's entries into the same Kimai; TimeTracker's carry markers of their own, so this pipeline's sync
// creates fresh Kimai entries), its projects and tasks mapped to Kimai's, people matched by e-mail. One
// sync of one day creates a dozen Kimai entries; a person then edits one of them in Kimai. On the run's
// page the undo is previewed (a dry run: so many to delete, the edited one a conflict), confirmed, and the
// undo run opens; Kimai has lost the entries but the edited one; the run says it is undone; the next sync
// skips the undone entries and the page says they are written again when they change in the source.
// Every wait has a deadline; no fixed sleeps.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BASE, RUN_TIMEOUT, realSession, skipUnless } from './session.mjs';

const NEEDED = ['TIMEBRIDGE_URL', 'TIMEBRIDGE_ADMIN_PASSWORD', 'TIMETRACKER_URL', 'TIMETRACKER_TOKEN', 'KIMAI_URL', 'KIMAI_TOKEN'];
const UNDONE = 'Undone — written again when the source changes';

/** The second Wednesday of the month before `now` (UTC), `YYYY-MM-DD`: a workday the simulators' seed fills. */
function seededDay(now = new Date()) {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  let wednesdays = 0;
  for (;;) {
    if (d.getUTCDay() === 3 && ++wednesdays === 2) return d.toISOString().slice(0, 10);
    d.setUTCDate(d.getUTCDate() + 1);
  }
}

/** The Kimai simulator's API, as a person or another tool uses it (not through timebridge). */
async function kimai(method, path, body) {
  const r = await fetch(`${process.env.KIMAI_URL.replace(/\/$/, '')}${path}`, {
    method,
    headers: { Authorization: `Bearer ${process.env.KIMAI_TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json().catch(() => null) };
}

describe('undoing a run against the real server', { concurrency: false, skip: skipUnless(NEEDED) }, () => {
  let page;
  let pipelineId;
  let day;
  let run; // the sync to undo, with its items
  let created; // its create items
  let edited; // the Kimai id of the entry a person edited after the sync
  let undoId;
  const s = realSession();
  const noConsoleErrors = s.noConsoleErrors;
  const { call, waitForRun, snap, catalog } = s;
  /** A sync of the one seeded day, finished. */
  const syncDay = async () => {
    const { run_id: id } = await call('POST', '/api/sync/manual', { pipeline_id: pipelineId, from: day, to: day });
    const r = await waitForRun(id);
    assert.equal(r.status, 'succeeded', `run #${id}: ${r.error} ${JSON.stringify(r.stats)}`);
    return r;
  };
  const stat = async (label) => Number(await page.locator('li', { has: page.getByText(label, { exact: true }) }).locator('div').nth(1).innerText());

  before(() => {
    ({ page } = s);
  });

  it('sets up a TimeTracker → Kimai pipeline whose sync of one day creates Kimai entries; a person edits one', async () => {
    const { source: tt, target: k, pipeline } = await s.pipeline({
      name: 'Undo e2e',
      source: { kind: 'timetracker', system: 'TIMETRACKER' },
      target: { kind: 'kimai', system: 'KIMAI' },
      windowDays: 31,
    });
    pipelineId = pipeline.id;
    const map = (...args) => s.map(pipelineId, ...args);
    // projects → the Kimai project of the same name (Kimai's catalog labels them "customer / project")
    const projects = await catalog(k.id, 'projects');
    for (const p of await catalog(tt.id, 'projects')) {
      const t = projects.find((x) => x.label === `${p.label} / ${p.label}`);
      if (t) await map('project', p, t);
    }
    // tasks → the activity of their name: the project's own where Kimai has one, else the global one
    const activities = await catalog(k.id, 'activities');
    for (const task of await catalog(tt.id, 'tasks')) {
      const name = task.extra?.name;
      if (!name || task.extra?.project_id == null) continue;
      const own = activities.find((a) => a.extra?.project === task.extra.project_id && a.label.startsWith(`${name} (`));
      const global = activities.find((a) => a.extra?.global && a.label === name);
      if (own ?? global) await map('activity', task, own ?? global);
    }

    day = seededDay();
    run = await syncDay();
    created = run.items.filter((i) => i.outcome === 'create');
    assert.ok(created.length >= 3, `the sync of ${day} creates entries: ${JSON.stringify(run.stats)}`);
    for (const i of created) assert.equal((await kimai('GET', `/api/timesheets/${i.target_id}`)).status, 200, `Kimai has ${i.target_id}`);

    // someone corrects one of the new entries in Kimai: the undo must leave it alone
    edited = created[0].target_id;
    const sheet = await kimai('GET', `/api/timesheets/${edited}`);
    const patched = await kimai('PATCH', `/api/timesheets/${edited}`, { description: `${sheet.body.description} (fixed by hand)` });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
  });

  it('previews the undo on the run’s page: what it would delete, and the edited entry as a conflict', async () => {
    await page.goto(`${BASE}/sync/runs/${run.id}`);
    await page.getByRole('heading', { name: `Run #${run.id}` }).waitFor();
    await page.getByRole('button', { name: 'Undo this run' }).click();
    const preview = page.getByRole('region', { name: 'Undo preview' });
    await preview.waitFor({ timeout: RUN_TIMEOUT });
    const toDelete = created.length - 1;
    const counts = preview.getByRole('list', { name: 'What the undo would do' });
    assert.equal((await counts.innerText()).replace(/\s+/g, ' ').trim(), `${toDelete} to delete 0 to write back 1 conflicts`);
    await preview.getByText(`Undoing would delete ${toDelete} entries, write back 0 and leave 1 conflict (changed since the run wrote them).`).waitFor();
    await preview.getByRole('button', { name: `Delete (${toDelete})` }).waitFor();
    await preview.getByRole('row').filter({ hasText: created[0].source_key }).filter({ hasText: /Target modified — Not undone: target entry \d+ was changed in the target/ }).waitFor();
    await snap('undo-preview');
    // a dry run: Kimai still has every entry, and the run is not undone
    for (const i of created) assert.equal((await kimai('GET', `/api/timesheets/${i.target_id}`)).status, 200);
    assert.equal((await call('GET', `/api/sync/runs/${run.id}`)).undone_by ?? null, null);
    noConsoleErrors();
  });

  it('undoes the run on confirmation: the undo run opens, Kimai loses the entries but the edited one, the run is undone', async () => {
    const toDelete = created.length - 1;
    await page.getByRole('region', { name: 'Undo preview' }).getByRole('button', { name: `Undo ${toDelete} entries` }).click();
    await page.waitForURL((u) => /\/sync\/runs\/\d+$/.test(u.pathname) && u.pathname !== `/sync/runs/${run.id}`);
    undoId = Number(new URL(page.url()).pathname.split('/').pop());
    await page.getByRole('heading', { name: `Run #${undoId}` }).waitFor();
    await page.getByText(/Undo run$/).waitFor();
    await page.getByRole('link', { name: `run #${run.id}`, exact: true }).waitFor();
    // the page follows the undo run until it has finished
    await page.getByText('succeeded', { exact: true }).waitFor({ timeout: RUN_TIMEOUT });
    assert.equal(await stat('Deleted'), toDelete);
    assert.equal(await stat('Conflicts'), 1);
    await page.getByRole('button', { name: `Delete (${toDelete})` }).waitFor();

    for (const i of created) {
      const status = (await kimai('GET', `/api/timesheets/${i.target_id}`)).status;
      assert.equal(status, i.target_id === edited ? 200 : 404, `Kimai entry ${i.target_id}`);
    }
    assert.match((await kimai('GET', `/api/timesheets/${edited}`)).body.description, /\(fixed by hand\)$/);

    await page.getByRole('link', { name: `run #${run.id}`, exact: true }).click();
    await page.getByRole('heading', { name: `Run #${run.id}` }).waitFor();
    await page.getByText(`Undone by run #${undoId}.`).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Undo this run' }).count(), 0);
    noConsoleErrors();
  });

  it('skips the undone entries in the next sync and says they are written again when they change in the source', async () => {
    const next = await syncDay();
    assert.equal(next.stats.created, 0, `nothing written again: ${JSON.stringify(next.stats)}`);
    const undone = next.items.filter((i) => i.outcome === 'skip' && i.skip_reason === 'undone');
    assert.equal(undone.length, created.length - 1, JSON.stringify(next.items));
    await page.goto(`${BASE}/sync/runs/${next.id}`);
    await page.getByRole('button', { name: `Skip (${next.stats.skipped})` }).click();
    await page.getByRole('row').filter({ hasText: undone[0].source_key }).getByText(UNDONE).waitFor();
    await page.getByRole('list', { name: 'Why entries were skipped' }).getByText(UNDONE).waitFor();
    // the history names the undo run
    await page.goto(`${BASE}/sync?pipeline=${pipelineId}`);
    await page.getByRole('row').filter({ has: page.locator(`a[href="/sync/runs/${undoId}"]`) }).getByText(`Undo of #${run.id}`, { exact: true }).waitFor();
    noConsoleErrors();
  });
});
