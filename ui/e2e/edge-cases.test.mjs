// Error-path checks that need controlled server behaviour: run only against the in-memory mock
// (skipped when TIMEBRIDGE_URL points at a real server, where they would trip the login rate limit).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, login, target } from './lib.mjs';

const skip = process.env.TIMEBRIDGE_URL ? 'needs the mock server (TIMEBRIDGE_URL is set)' : false;

describe('error paths (mock only)', { concurrency: false, skip }, () => {
  let t;
  let b;
  let page;
  before(async () => {
    t = await target();
    b = await launch();
    page = b.page;
  });
  after(async () => {
    await b?.browser.close();
    await t?.close();
  });

  it('explains a rate-limited login with the wait time', async () => {
    await page.goto(`${t.baseUrl}/login`);
    for (let i = 0; i < 6; i++) {
      await page.getByLabel('Password').fill(`wrong-${i}`);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('alert').waitFor();
      await page.waitForTimeout(150);
    }
    const alert = page.getByRole('alert').filter({ hasText: /try again in \d+ seconds?/ });
    await alert.waitFor();
    assert.equal(await page.getByRole('button', { name: 'Log in' }).isDisabled(), true);
  });

  it('shows a 409 when deleting a connector used by a pipeline', async () => {
    const t2 = await target(); // fresh mock without the rate limit state
    await t.close();
    t = t2;
    await login(page, t.baseUrl, t.password);
    await page.goto(`${t.baseUrl}/connectors`);
    await page.getByRole('button', { name: 'Delete Zammad (demo)' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Delete connector' }).click();
    await dialog.getByRole('alert').filter({ hasText: /used by a pipeline/ }).waitFor();
    // focus stays trapped in the dialog
    for (let i = 0; i < 6; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]')), true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('shows server field errors next to the field', async () => {
    await page.goto(`${t.baseUrl}/settings`);
    const input = page.getByLabel('Retention (days)');
    // the settings page has a form per topic; this one holds the retention period
    const save = page.locator('form').filter({ has: input }).getByRole('button', { name: 'Save', exact: true });
    await input.fill('0');
    await save.click();
    await page.getByText(/at least 1/).waitFor(); // client-side
    await input.fill('30');
    await save.click();
    await page.getByText('Settings saved').first().waitFor();
  });

  it('requires a target id for link and shows resolution', async () => {
    await page.goto(`${t.baseUrl}/conflicts?view=entries&status=open&reason=duplicate_in_target`);
    await page.locator('table a[href^="/conflicts/"]').first().click();
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/Target entry id/).fill('');
    await dialog.getByRole('button', { name: 'Link', exact: true }).click();
    await dialog.getByText('Enter the id of the existing target entry').waitFor();
    await dialog.getByLabel(/Target entry id/).fill('4242');
    await dialog.getByRole('button', { name: 'Link', exact: true }).click();
    await page.getByText(/Resolved with/).waitFor();
  });

  it('reports a 409 for create on a still unmapped entry', async () => {
    await page.goto(`${t.baseUrl}/conflicts?view=entries&status=open&reason=unmapped_user`);
    await page.locator('table a[href^="/conflicts/"]').first().click();
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await dialog.getByRole('alert').filter({ hasText: /does not resolve/ }).waitFor();
  });

  it('had no console errors', () => {
    // 409s are expected in this file; anything else is a bug
    const unexpected = b.consoleErrors.filter((e) => !/status of 409/.test(e));
    assert.deepEqual(unexpected, []);
  });
});
