import assert from 'node:assert/strict';
import { it } from 'node:test';
import { checkViews, useBrowser, visit } from '../helpers/browser.ts';
import { describeStack } from '../helpers/stack-suite.ts';
import { waitFor } from '../helpers/wait.ts';

const numberIn = (text: string | null): number => Number((text ?? '').replace(/,/g, ''));

// The dashboards through nginx in Chromium: a counter's page follows hits made from outside
// without a reload; the operator's page sees a replica added by `--scale` without a reload.
describeStack('the dashboards in Chromium', import.meta.filename, (stack) => {
  const browser = useBrowser();

  it("a counter's page shows its figures, then follows hits made elsewhere: number, table and chart, without a reload", { timeout: 180_000 }, async () => {
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${stack.base}/hit/browser/page`, { headers: { 'user-agent': `reader-${i}` } })).status, 200);
    await visit(browser(), `${stack.base}/dashboard/browser/page`, async (page) => {
      const { page: tab } = page;
      await tab.getByRole('heading', { level: 1, name: 'browser/page' }).waitFor();
      assert.equal(numberIn(await tab.locator('#total').textContent()), 3);
      assert.equal(numberIn(await tab.locator('#uniques').textContent()), 3);
      await tab.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 });
      const chartBefore = await tab.locator('#chart').getAttribute('src');
      const todayRow = tab.locator('#history tbody tr').first();
      // Hits from outside, through nginx, land on any replica; the page hears of them from its own.
      for (let i = 0; i < 1200; i++) {
        const answer = await fetch(`${stack.base}/hit/browser/page`, { headers: { 'user-agent': 'reader-0' } });
        assert.equal(answer.status, 200);
        await answer.arrayBuffer();
      }
      await waitFor('the total 1,203 on the page', async () => (await tab.locator('#total').textContent()) === '1,203', 10_000);
      await waitFor("today's row in the table updated", async () => (await todayRow.locator('td').nth(1).textContent()) === '1,203', 10_000);
      await waitFor('the chart asked for again', async () => (await tab.locator('#chart').getAttribute('src')) !== chartBefore, 10_000);
      await tab.waitForFunction(() => (document.getElementById('chart') as HTMLImageElement).complete);
      assert.ok(await tab.evaluate(() => (document.getElementById('chart') as HTMLImageElement).naturalWidth > 0), 'the new chart loaded');
      assert.equal(numberIn(await tab.locator('#uniques').textContent()), 3, 'the same three readers');
      assert.equal(page.navigations, 1, 'no reload');
      await checkViews(page, 'dashboard-counter', { readmeImage: true });
    });
  });

  it("the operator's page lists the replicas and sees a new one appear after `--scale web=4`, without a reload", { timeout: 240_000 }, async () => {
    const token = (await stack.compose(['exec', '-T', 'web', 'cat', '/secrets/admin_token'])).trim();
    assert.match(token, /^[0-9a-f]{64}$/, 'the random token redis-secrets made');
    const refused = await fetch(`${stack.base}/dashboard`);
    assert.equal(refused.status, 401);
    const authorization = `Basic ${Buffer.from(`operator:${token}`).toString('base64')}`;
    await visit(
      browser(),
      `${stack.base}/dashboard`,
      async (page) => {
        const { page: tab } = page;
        await tab.getByRole('heading', { level: 1, name: 'The service right now' }).waitFor();
        const rows = tab.locator('#replicas tbody tr');
        await waitFor('3 replicas listed', async () => (await rows.count()) === 3, 15_000);
        assert.match((await tab.locator('#redis-aof').textContent()) ?? '', /^on, fsync everysec/);
        // compose.yaml's REDIS_MAXMEMORY default reaches the stack's Redis, with noeviction.
        assert.match((await tab.locator('#redis-memory').textContent()) ?? '', / \/ 400\.00M \(noeviction\)$/);
        await checkViews(page, 'dashboard-instance', { readmeImage: true });
        await stack.compose(['up', '--detach', '--no-recreate', '--no-build', '--wait', '--scale', 'web=4'], 120_000);
        await waitFor('a 4th replica on the page', async () => (await rows.count()) === 4, 20_000);
        assert.equal(page.navigations, 1, 'no reload');
      },
      { headers: { authorization } },
    );
  });
});
