// The functions passed to page.evaluate run in the page: they are typed with the DOM's types.
// (These apply to the whole type check; dom.asynciterable keeps streams async-iterable, as in Node.)
/// <reference lib="dom" />
/// <reference lib="dom.asynciterable" />
/**
 * Browser tests: Debian's Chromium (`.ci/setup-browser.sh`) driven by playwright-core.
 *
 *   describeStack('...', import.meta.filename, (stack) => {
 *     const browser = useBrowser();                   // launched before the tests, closed after
 *     it('...', async () => {
 *       await visit(browser(), `${stack.base}/count`, async (page) => {
 *         await page.page.getByRole('heading').waitFor();   // page.page: the playwright Page
 *         await checkViews(page, 'count');            // in each of VIEWS: axe-core, no sideways
 *       });                                           // scrolling, a screenshot
 *     });                                             // visit fails on any problem (below), then
 *   });                                               // closes the page whatever happened
 *
 * - `openPage(browser, url, { view, headers })` (`visit` passes the same options on) records,
 *   from the first request on: console errors, uncaught page errors, CSP violations (the
 *   `securitypolicyviolation` event, and Chromium's "Refused to ..." console errors), every
 *   request to an origin other than the page's own, and main-frame navigations
 *   (`page.navigations`: 1 after the first load, so "changed without a reload" is checkable).
 *   `page.assertClean()` fails listing them. `headers` go with every request of the page (the
 *   operator's `authorization`).
 * - `checkAccessibility(page)` fails with a readable list of axe-core's serious and critical
 *   violations. axe is evaluated through the DevTools protocol (@axe-core/playwright), which the
 *   page's Content-Security-Policy does not govern, so the page keeps its real CSP: nothing is
 *   loosened for the test.
 * - `showIn(page, view)` switches width and prefers-color-scheme without a reload.
 * - `screenshot(page, name)` writes test-results/screenshots/<name>-<view>.png (ignored by git).
 *   With `{ readmeImage: true }` (also an option of checkViews) and README_IMAGES=1 (`npm run
 *   screenshots`), the 1440 px light view is also written, at window size, to
 *   docs/images/<name>.png: the page's picture in the README, one per page.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's package; CHROMIUM_BIN points elsewhere (another distribution's path). */
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

// Without the background-networking flags Chromium reaches for Google's services at start, and
// on a machine with a closed network those refused connections slow or break the run.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const README_IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));

export interface View {
  /** Part of the screenshot's file name: "375-light". */
  name: string;
  width: number;
  height: number;
  colorScheme: 'light' | 'dark';
}

const view = (width: number, height: number, colorScheme: View['colorScheme']): View => ({ name: `${width}-${colorScheme}`, width, height, colorScheme });

/** The looks every page is checked in: a phone and a desktop width, light and dark. */
export const VIEWS: readonly View[] = [view(375, 812, 'light'), view(375, 812, 'dark'), view(1440, 900, 'light'), view(1440, 900, 'dark')];
const README_VIEW = '1440-light';

/** Starts Chromium headless, with a fresh profile (playwright's temporary user data dir). */
export const launchBrowser = async (): Promise<Browser> => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run \`bash .ci/setup-browser.sh\` (Debian's chromium package), or set CHROMIUM_BIN`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
};

/**
 * Chromium for the tests of the enclosing describe (or describeStack): launched in a before hook,
 * closed in an after hook. Returns a getter, as the browser exists only once the hook ran.
 */
export const useBrowser = (): (() => Browser) => {
  let browser: Browser | undefined;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('Chromium is not running: call useBrowser() inside describe(), use it inside it()');
    return browser;
  };
};

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** The origin the page was opened on; any request elsewhere is a problem. */
  origin: string;
  /** What went wrong so far, one line each (console errors, page errors, CSP, other origins). */
  problems: string[];
  /** Main-frame navigations so far: 1 after openPage, more after a reload or a followed link. */
  navigations: number;
  /** The view the page is in now (openPage's, or the last of checkViews). */
  view: View;
  /** Fails, listing every problem recorded so far. */
  assertClean: () => void;
  close: () => Promise<void>;
}

/** The origin of a request, or undefined for those that never leave the page (data:, blob:, about:). */
const originOf = (url: string): string | undefined => {
  const parsed = new URL(url);
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' || parsed.protocol === 'ws:' || parsed.protocol === 'wss:' ? parsed.origin : undefined;
};

export interface OpenOptions {
  /** The view the page opens in: 1440 px light unless told. */
  view?: View;
  /** Sent with every request of the page, e.g. `{ authorization: 'Bearer ...' }` for the operator's pages. */
  headers?: Record<string, string>;
}

/**
 * Opens `url` in a new context (own cookies and cache), waits for its load event, and records
 * what goes wrong from the first request on.
 */
export const openPage = async (browser: Browser, url: string, { view: initialView = VIEWS[2] ?? view(1440, 900, 'light'), headers }: OpenOptions = {}): Promise<WatchedPage> => {
  const origin = new URL(url).origin;
  const context = await browser.newContext({
    viewport: { width: initialView.width, height: initialView.height },
    colorScheme: initialView.colorScheme,
    deviceScaleFactor: 1,
    ...(headers ? { extraHTTPHeaders: headers } : {}),
  });
  const page = await context.newPage();
  const watched: WatchedPage = {
    page,
    context,
    origin,
    problems: [],
    navigations: 0,
    view: initialView,
    assertClean: () => {
      if (watched.problems.length > 0) assert.fail(`${url}: ${watched.problems.length} problem(s) in the browser:\n  ${watched.problems.join('\n  ')}\n`);
    },
    close: () => context.close(),
  };
  const problem = (line: string): void => {
    watched.problems.push(line);
  };

  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const { url: source, lineNumber } = message.location();
    problem(`console error: ${message.text()}${source ? ` (${source}:${lineNumber + 1})` : ''}`);
  });
  page.on('pageerror', (error) => {
    problem(`page error: ${error.message}`);
  });
  page.on('request', (request) => {
    const target = originOf(request.url());
    if (target !== undefined && target !== origin) problem(`request to another origin: ${request.method()} ${request.url()}`);
  });
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) watched.navigations += 1;
  });
  // The init script runs before any of the page's own, in every document; the binding carries
  // each violation out. Neither is subject to the page's CSP.
  await page.exposeBinding('__reportCspViolation', (_source, violation: string) => {
    problem(`CSP violation: ${violation}`);
  });
  await page.addInitScript(() => {
    const report = (window as unknown as { __reportCspViolation: (violation: string) => void }).__reportCspViolation;
    document.addEventListener('securitypolicyviolation', (event) => {
      report(`${event.effectiveDirective} blocked ${event.blockedURI || '(inline)'} in ${event.sourceFile || event.documentURI}${event.lineNumber ? `:${event.lineNumber}` : ''}`);
    });
  });

  try {
    const response = await page.goto(url, { waitUntil: 'load' });
    assert.ok(response, `${url}: no response`);
    assert.equal(response.status(), 200, `${url}: HTTP ${response.status()}`);
  } catch (error) {
    await context.close();
    throw error;
  }
  return watched;
};

/** Puts the page in `target` (size and prefers-color-scheme), without a reload. */
export const showIn = async (watched: WatchedPage, target: View): Promise<void> => {
  await watched.page.setViewportSize({ width: target.width, height: target.height });
  await watched.page.emulateMedia({ colorScheme: target.colorScheme });
  watched.view = target;
  // Scripts learn of the change at the next frames (matchMedia's change event), and colours may
  // fade from one scheme to the other (CSS transitions): check the end, not the fade.
  await watched.page.evaluate(async () => {
    for (let frame = 0; frame < 2; frame += 1) await new Promise((resolve) => requestAnimationFrame(resolve));
    const finite = document.getAnimations().filter((animation) => animation.effect?.getComputedTiming().endTime !== Infinity);
    await Promise.allSettled(finite.map((animation) => animation.finished));
  });
};

interface AxeNode {
  target: unknown[];
  failureSummary?: string;
}

/** Runs axe-core on the page as it is now; fails on any serious or critical violation, listing each. */
export const checkAccessibility = async (page: Page, label = page.url()): Promise<void> => {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const severe = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  const describeNode = (node: AxeNode): string =>
    `    at ${node.target.map(String).join(' > ')}${node.failureSummary ? `: ${node.failureSummary.replace(/\s+/g, ' ')}` : ''}`;
  const report = severe.map(
    (violation) =>
      `${violation.impact ?? ''} ${violation.id}: ${violation.help} (${violation.helpUrl})\n${violation.nodes.slice(0, 8).map(describeNode).join('\n')}` +
      (violation.nodes.length > 8 ? `\n    ... and ${violation.nodes.length - 8} more` : ''),
  );
  if (report.length > 0) assert.fail(`axe-core on ${label}: ${severe.length} serious or critical violation(s):\n${report.join('\n')}\n`);
};

/** Fails when the page is wider than the window, i.e. a reader must scroll sideways. */
export const checkNoSidewaysScroll = async (page: Page, label = page.url()): Promise<void> => {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  assert.ok(scrollWidth <= innerWidth, `${label}: the page is ${scrollWidth} px wide in a ${innerWidth} px window (sideways scrolling)`);
};

/**
 * Saves the page as it looks now (whole page) under test-results/screenshots/. `readmeImage`: this
 * is the page's picture in the README, written (1440 px light, window size) to docs/images/ when
 * README_IMAGES=1.
 */
export const screenshot = async (watched: WatchedPage, name: string, { readmeImage = false } = {}): Promise<void> => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await watched.page.screenshot({ path: `${SCREENSHOTS}${name}-${watched.view.name}.png`, fullPage: true, animations: 'disabled' });
  if (readmeImage && process.env.README_IMAGES === '1' && watched.view.name === README_VIEW) {
    mkdirSync(README_IMAGES, { recursive: true });
    await watched.page.screenshot({ path: `${README_IMAGES}${name}.png`, animations: 'disabled' });
  }
};

interface CheckViewsOptions {
  /** Runs after each switch of view, before the checks (e.g. wait for something that depends on the colour scheme). */
  settle?: (view: View) => Promise<void>;
  /** The screenshot at 1440 px light is the page's picture in the README (see screenshot). */
  readmeImage?: boolean;
}

/**
 * The checks every page gets, in each of VIEWS in turn (no reload between them): axe-core, no
 * sideways scrolling, a screenshot named `name`.
 */
export const checkViews = async (watched: WatchedPage, name: string, { settle, readmeImage = false }: CheckViewsOptions = {}): Promise<void> => {
  for (const target of VIEWS) {
    await showIn(watched, target);
    await settle?.(target);
    const label = `${watched.page.url()} at ${target.name}`;
    await checkAccessibility(watched.page, label);
    await checkNoSidewaysScroll(watched.page, label);
    await screenshot(watched, name, { readmeImage });
  }
};

/** Opens `url` (see openPage), runs `body`, then fails on any problem the page had; always closes it. */
export const visit = async (browser: Browser, url: string, body: (page: WatchedPage) => Promise<void>, options?: OpenOptions): Promise<void> => {
  const watched = await openPage(browser, url, options);
  try {
    await body(watched);
  } catch (error) {
    // A blocked script or a failed request is often why a wait timed out: say so.
    if (error instanceof Error && watched.problems.length > 0) error.message += `\nThe browser also saw:\n  ${watched.problems.join('\n  ')}`;
    throw error;
  } finally {
    await watched.close();
  }
  watched.assertClean();
};
