import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ACCEPT, get } from '../helpers/http.ts';
import { checkViews, useBrowser, visit } from '../helpers/browser.ts';
import { readVisits } from '../helpers/stack-redis.ts';
import { describeStack } from '../helpers/stack-suite.ts';

// Each page through nginx, as a reader's browser gets it: its own assets only, under the
// service's Content-Security-Policy, accessible, readable at 375 and 1440 px in light and dark.
describeStack('the pages in Chromium', import.meta.filename, (stack) => {
  const browser = useBrowser();

  it('/ welcomes and links to the counter, the dashboard and the API docs', { timeout: 120_000 }, async () => {
    await visit(browser(), `${stack.base}/`, async (page) => {
      const { page: tab } = page;
      await tab.getByRole('heading', { level: 1, name: 'Welcome to the visit counter!' }).waitFor();
      for (const [name, href] of [['Count my visit', '/count'], ['API documentation', '/docs']] as const) {
        assert.equal(await tab.getByRole('link', { name, exact: true }).getAttribute('href'), href);
      }
      const background = await tab.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.notEqual(background, 'rgba(0, 0, 0, 0)', 'the stylesheet from /assets/ applies');
      await checkViews(page, 'welcome', { readmeImage: true });
    });
  });

  it('/count counts the visit and shows the total that Redis holds', { timeout: 120_000 }, async () => {
    const before = await readVisits(stack);
    await visit(browser(), `${stack.base}/count`, async (page) => {
      const shown = Number(await page.page.locator('#count').textContent());
      assert.equal(shown, before + 1, 'one visit counted, and shown');
      assert.equal(await readVisits(stack), shown);
      await checkViews(page, 'count', { readmeImage: true });
    });
  });

  it('/docs renders every operation of /openapi.json, and "Try it out" calls the API of this stack', { timeout: 180_000 }, async () => {
    const document = JSON.parse((await get(`${stack.base}/openapi.json`, ACCEPT.json)).body) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(document.paths).reduce((sum, methods) => sum + Object.keys(methods).length, 0);
    assert.ok(operations > 10, `${operations} operations in /openapi.json`);
    await visit(browser(), `${stack.base}/docs`, async (page) => {
      const { page: tab } = page;
      await tab.getByRole('heading', { level: 1, name: /Counting API/ }).waitFor();
      assert.equal(await tab.locator('.opblock').count(), operations, 'one block per operation');
      await checkViews(page, 'docs', { readmeImage: true });

      // The reader's way of calling the API from the page: open /get/{namespace}/{key}, fill it in, execute.
      const visits = await readVisits(stack);
      const operation = tab.locator('#operations-counters-get_get__namespace___key_');
      await operation.locator('.opblock-summary-control').click();
      await operation.getByRole('button', { name: 'Try it out' }).click();
      await operation.getByRole('textbox', { name: 'namespace', exact: true }).fill('default');
      await operation.getByRole('textbox', { name: 'key', exact: true }).fill('visits');
      await operation.getByRole('button', { name: 'Execute' }).click();
      const answer = operation.locator('.live-responses-table .response-col_description pre').first();
      await answer.waitFor();
      assert.deepEqual(JSON.parse(await answer.innerText()), { value: visits });
      // The opened operation (parameters, buttons, the answer) is checked too.
      await checkViews(page, 'docs-try-it-out');
    });
  });
});
