// Money at risk (#19) against the in-memory mock: the dashboard card links to the report, the report's
// table, pipeline and month pickers, and the CSV download.
// Run: `npm run e2e` (or node --test e2e/money.test.mjs); needs `npm run build`.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { launch, login, shot, target } from './lib.mjs';

describe('timebridge UI: money at risk (mock)', { concurrency: false, skip: process.env.TIMEBRIDGE_URL ? 'mock only (the real server is covered by e2e/real)' : false }, () => {
  let t;
  let b;
  let page;
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

  it('shows the month total on the dashboard and links to the report by customer', async () => {
    const card = page.getByTestId('money-card');
    await card.waitFor();
    await card.getByText('€397.50').waitFor();
    await card.getByText('3:30 h unsynced, 1:15 h in conflict').waitFor();
    await card.getByRole('link', { name: 'By customer' }).click();
    await page.getByRole('heading', { name: 'Money at risk' }).waitFor();
    assert.match(page.url(), /\/reports\/money-at-risk\?month=\d{4}-\d{2}$/);
    noConsoleErrors();
  });

  it('lists each customer with its time, rate and amount, and narrows to one pipeline', async () => {
    const acme = page.getByRole('row').filter({ hasText: 'Acme Logistics GmbH' });
    await acme.getByText('€95.00/h').waitFor();
    await acme.getByText('€237.50').waitFor();
    await acme.getByText('0:30 refused').waitFor();
    await page.getByRole('row').filter({ hasText: 'Bergmann Dental' }).getByText('several').waitFor();
    const unmapped = page.getByRole('row').filter({ hasText: 'Zammad org 7' });
    await unmapped.getByText('unmapped').waitFor();
    await unmapped.getByText('no rate').waitFor();
    await page.getByTestId('money-total').getByText('€397.50').waitFor();
    await page.getByTestId('money-total').getByText('0:45 h without a rate', { exact: false }).waitFor();
    await shot(page, 'money-at-risk-mock');

    // One pipeline: its rows, without the pipeline column.
    assert.equal(await page.getByRole('columnheader', { name: 'Pipeline' }).count(), 1);
    await page.getByLabel('Pipeline').selectOption({ label: 'Zammad → Kimai' });
    await page.waitForURL(/pipeline_id=1/);
    await page.getByRole('columnheader', { name: 'Pipeline' }).waitFor({ state: 'detached' });
    await page.getByRole('row').filter({ hasText: 'Acme Logistics GmbH' }).waitFor();
    noConsoleErrors();
  });

  it('shows nothing at risk for another month and downloads the report as CSV', async () => {
    await page.getByLabel('Month').fill('2020-01');
    await page.getByText('Nothing at risk').waitFor();
    assert.match(page.url(), /month=2020-01/);
    await page.goto(`${t.baseUrl}/reports/money-at-risk`);
    await page.getByRole('row').filter({ hasText: 'Acme Logistics GmbH' }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^money-at-risk-\d{4}-\d{2}\.csv$/);
    const text = await readFile(await download.path(), 'utf8');
    assert.match(text, /^pipeline_id,pipeline,side,customer_key,customer,/);
    assert.match(text, /Acme Logistics GmbH,237\.5/);
    noConsoleErrors();
  });
});
