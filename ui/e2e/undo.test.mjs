// Undoing a run from its page, against the in-memory mock: the dry run first (counts and items), Cancel,
// then "Undo N entries", which opens the undo run; the run shows who undid it and cannot be undone twice
// (409, also when another admin undid it while the preview was open); a disabled pipeline's run is refused
// (422); the next sync marks the undone entries as skipped until they change in the source.
// Run: `npm run e2e` (or node --test e2e/undo.test.mjs); needs `npm run build`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, login, pageFetch, shot, target } from './lib.mjs';

describe('timebridge UI: undo a run (mock)', { concurrency: false, skip: process.env.TIMEBRIDGE_URL ? 'mock only (the real server is covered by e2e/real)' : false }, () => {
  let t;
  let b;
  let page;
  let undoId;
  const api = (method, path, body) => pageFetch(page, method, path, body);
  const noConsoleErrors = () => assert.deepEqual(b.consoleErrors, [], 'console errors');
  /** The browser logs the refusals this file provokes (409/422 of an undo) as errors: by design. */
  const forgetRefusedUndos = () =>
    b.consoleErrors.splice(0, b.consoleErrors.length, ...b.consoleErrors.filter((e) => !/status of (409|422) .*\/api\/sync\/runs\/\d+\/undo/.test(e)));
  const stat = async (label) => Number(await page.locator('li', { has: page.getByText(label, { exact: true }) }).locator('div').nth(1).innerText());
  /** Polls the run until it has finished (deadline). */
  const finished = async (id) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const r = await api('GET', `/api/sync/runs/${id}`);
      if (!['queued', 'running'].includes(r.body.status)) return r.body;
      assert.ok(Date.now() < deadline, `run #${id} still ${r.body.status}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };

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

  it('previews the undo of a run with what it would delete, write back and leave, and cancels', async () => {
    await page.goto(`${t.baseUrl}/sync/runs/2`);
    await page.getByRole('heading', { name: 'Run #2' }).waitFor();
    await page.getByRole('button', { name: 'Undo this run' }).click();
    const preview = page.getByRole('region', { name: 'Undo preview' });
    await preview.getByText('Preview: undoing run #2').waitFor();
    // run 2 created four entries (one edited in Kimai since) and updated one
    const counts = preview.getByRole('list', { name: 'What the undo would do' });
    assert.equal(await counts.innerText().then((s) => s.replace(/\s+/g, ' ').trim()), '3 to delete 1 to write back 1 conflicts');
    await preview.getByText('Undoing would delete 3 entries, write back 1 and leave 1 conflict (changed since the run wrote them).').waitFor();
    await preview.getByRole('button', { name: 'Delete (3)' }).waitFor();
    await preview.getByRole('button', { name: 'Restore (1)' }).waitFor();
    await preview.getByRole('row').filter({ hasText: 'ta-321' }).filter({ hasText: 'Target modified' }).waitFor();
    assert.equal(await preview.getByRole('row').filter({ hasText: 'would be deleted' }).count(), 3);
    await shot(page, 'undo-preview');
    // the dry run is a run of its own, and changed nothing
    const dry = await api('GET', '/api/sync/history?limit=1');
    assert.deepEqual([dry.body.items[0].trigger, dry.body.items[0].dry_run, dry.body.items[0].undo_of], ['undo', true, 2]);
    assert.equal((await api('GET', '/api/sync/runs/2')).body.undone_by, null);

    await preview.getByRole('button', { name: 'Cancel' }).click();
    await preview.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Undo this run' }).waitFor();
    noConsoleErrors();
  });

  it('undoes the run on confirmation and opens the undo run; the run says it is undone', async () => {
    await page.goto(`${t.baseUrl}/sync/runs/2`);
    await page.getByRole('button', { name: 'Undo this run' }).click();
    const preview = page.getByRole('region', { name: 'Undo preview' });
    await preview.getByRole('button', { name: 'Undo 4 entries' }).click();
    await page.waitForURL((u) => /\/sync\/runs\/\d+$/.test(u.pathname) && !u.pathname.endsWith('/2'));
    undoId = Number(new URL(page.url()).pathname.split('/').pop());
    await page.getByRole('heading', { name: `Run #${undoId}` }).waitFor();
    await page.getByText('Undo started').first().waitFor();
    await page.getByText(/Undo run$/).waitFor();
    await page.getByRole('link', { name: 'run #2', exact: true }).waitFor();
    // the page follows the undo run until it has finished
    await page.getByText('succeeded', { exact: true }).waitFor();
    assert.equal(await stat('Deleted'), 3);
    assert.equal(await stat('Restored (written back)'), 1);
    assert.equal(await stat('Conflicts'), 1);
    assert.equal(await page.getByText('Created', { exact: true }).count(), 0, 'an undo run creates nothing');
    await page.getByRole('button', { name: 'Delete (3)' }).click();
    assert.equal(await page.getByRole('row').filter({ hasText: /^ta-\d+\s*delete/ }).count(), 3);
    // an undo cannot be undone
    assert.equal(await page.getByRole('button', { name: 'Undo this run' }).count(), 0);

    await page.getByRole('link', { name: 'run #2', exact: true }).click();
    await page.getByRole('heading', { name: 'Run #2' }).waitFor();
    await page.getByText(`Undone by run #${undoId}.`).waitFor();
    await page.getByRole('link', { name: `run #${undoId}`, exact: true }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Undo this run' }).count(), 0);

    // the history names undo runs
    await page.goto(`${t.baseUrl}/sync`);
    const row = page.getByRole('row').filter({ has: page.locator(`a[href="/sync/runs/${undoId}"]`) });
    await row.getByText('Undo of #2', { exact: true }).waitFor();
    await row.getByText('3 deleted · 1 restored').waitFor();
    await page.getByRole('row').filter({ hasText: 'Undo of #2 · dry run' }).first().waitFor();
    noConsoleErrors();
  });

  it('refuses a second undo (409), also one confirmed after another admin undid the run', async () => {
    const again = await api('POST', '/api/sync/runs/2/undo', {});
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'already_undone');
    assert.equal(again.body.error.details.undo_run_id, undoId);
    const ofUndo = await api('POST', `/api/sync/runs/${undoId}/undo`, { dry_run: true });
    assert.deepEqual([ofUndo.status, ofUndo.body.error.code], [409, 'not_undoable']);

    await page.goto(`${t.baseUrl}/sync/runs/3`);
    await page.getByRole('button', { name: 'Undo this run' }).click();
    const confirm = page.getByRole('region', { name: 'Undo preview' }).getByRole('button', { name: /^Undo \d+ entries$/ });
    await confirm.waitFor();
    // meanwhile someone else undoes run 3
    const other = await api('POST', '/api/sync/runs/3/undo', { dry_run: false });
    assert.equal(other.status, 202);
    await confirm.click();
    const alert = page.getByRole('alert').filter({ hasText: `Run #3 is already undone by run #${other.body.run_id}` });
    await alert.waitFor();
    await page.getByRole('link', { name: `run #${other.body.run_id}`, exact: true }).first().waitFor();
    // the page now knows the run is undone
    await page.getByText(`Undone by run #${other.body.run_id}.`).waitFor();
    await finished(other.body.run_id);
    forgetRefusedUndos();
    noConsoleErrors();
  });

  it('says why when the run’s pipeline is disabled (422)', async () => {
    await api('PUT', '/api/pipelines/1', { enabled: false });
    try {
      await page.goto(`${t.baseUrl}/sync/runs/5`);
      await page.getByRole('button', { name: 'Undo this run' }).click();
      await page.getByRole('alert').filter({ hasText: 'is disabled; enable it to undo its runs.' }).waitFor();
      assert.equal(await page.getByRole('region', { name: 'Undo preview' }).count(), 0);
    } finally {
      await api('PUT', '/api/pipelines/1', { enabled: true });
    }
    forgetRefusedUndos();
    noConsoleErrors();
  });

  it('marks the undone entries in the next sync as skipped until they change in the source', async () => {
    const started = await api('POST', '/api/sync/manual', { pipeline_id: 1 });
    assert.equal(started.status, 202);
    const run = await finished(started.body.run_id);
    const undone = run.items.filter((i) => i.outcome === 'skip' && i.message.startsWith('undone'));
    assert.ok(undone.some((i) => i.source_key === 'ta-320'), JSON.stringify(run.items));
    await page.goto(`${t.baseUrl}/sync/runs/${run.id}`);
    await page.getByRole('button', { name: /^Skip \(\d+\)$/ }).click();
    const row = page.getByRole('row').filter({ hasText: 'ta-320' });
    await row.getByText('Undone — written again when the source changes').waitFor();
    await page.getByRole('list', { name: 'Why entries were skipped' }).getByText('Undone — written again when the source changes').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Undo this run' }).count(), 1, 'a finished sync may be undone');
    noConsoleErrors();
  });
});
