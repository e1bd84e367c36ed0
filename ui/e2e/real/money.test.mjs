// Money at risk (#19) against the REAL server and its simulators (started by e2e/run.sh, which sets
// TIMEBRIDGE_URL, TIMEBRIDGE_ADMIN_PASSWORD, ZAMMAD_URL, ZAMMAD_TOKEN, KIMAI_URL, KIMAI_TOKEN). The file sets
// up its own Zammad → Kimai pipeline (activities and projects mapped, nothing synced) and opens the report
// for the month the seed's entries lie in: the page shows what the API answers — every customer with its
// time and the amount at Kimai's rates — and downloads it as CSV. Screenshot: docs/screenshots/money-at-risk.png.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { shot } from '../lib.mjs';
import { BASE, realSession, skipUnless } from './session.mjs';

const NEEDED = ['TIMEBRIDGE_URL', 'TIMEBRIDGE_ADMIN_PASSWORD', 'ZAMMAD_URL', 'ZAMMAD_TOKEN', 'KIMAI_URL', 'KIMAI_TOKEN'];

describe('money at risk against the real server', { concurrency: false, skip: skipUnless(NEEDED) }, () => {
  let page;
  let pipelineId;
  let report;
  const s = realSession();
  const noConsoleErrors = s.noConsoleErrors;
  const { call } = s;
  // The seed's entries lie in the month before the simulators' "now" (today).
  const now = new Date();
  const prev = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15));
  const month = `${prev.getUTCFullYear()}-${String(prev.getUTCMonth() + 1).padStart(2, '0')}`;

  before(() => {
    ({ page } = s);
  });

  it('sets up a pipeline with its activities and projects mapped, nothing synced', async () => {
    const { source: zammad, target: kimai, pipeline } = await s.pipeline({
      name: 'Money e2e',
      source: { kind: 'zammad', system: 'ZAMMAD' },
      target: { kind: 'kimai', system: 'KIMAI' },
    });
    pipelineId = pipeline.id;
    await s.mapZammadToKimaiByName(pipelineId, zammad, kimai);
    report = await call('GET', `/api/reports/money-at-risk?pipeline_id=${pipelineId}&month=${month}`);
    assert.ok(report.rows.length > 1, `customers at risk: ${JSON.stringify(report)}`);
    assert.equal(report.currency, 'EUR');
    assert.ok(report.total > 0, JSON.stringify(report));
    assert.ok(report.rows.some((r) => r.amount !== null && r.side === 'target'));
  });

  it('shows each customer with its time and amount at Kimai’s rates, as the API answers', async () => {
    await page.goto(`${BASE}/reports/money-at-risk?pipeline_id=${pipelineId}&month=${month}`);
    await page.getByRole('heading', { name: 'Money at risk' }).waitFor();
    const total = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR' }).format(report.total);
    await page.getByTestId('money-total').getByText(total).waitFor();
    for (const r of report.rows.filter((x) => x.customer.name)) {
      const row = page.getByRole('row').filter({ hasText: r.customer.name }).first();
      await row.waitFor();
      if (r.amount !== null) {
        await row.getByText(new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR' }).format(r.amount)).first().waitFor();
      }
    }
    await page.waitForFunction(() => ![...document.querySelectorAll('[role="status"]')].some((e) => /Loading|Reading/.test(e.textContent ?? '')));
    await shot(page, 'money-at-risk');
    noConsoleErrors();
  });

  it('downloads the report as CSV, one line per customer', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
    assert.equal(download.suggestedFilename(), `money-at-risk-${month}.csv`);
    const lines = (await readFile(await download.path(), 'utf8')).trimEnd().split('\r\n');
    assert.match(lines[0], /^pipeline_id,pipeline,side,customer_key,customer,/);
    assert.equal(lines.length - 1, report.rows.length);
    noConsoleErrors();
  });
});
