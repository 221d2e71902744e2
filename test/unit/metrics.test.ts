import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Metric } from 'prom-client';
import { instrumentStore } from '../../src/metrics/instrumented-store.ts';
import { createMetrics } from '../../src/metrics/registry.ts';
import { type CounterStore, StoreFaultError, StoreUnavailableError } from '../../src/store/counter-store.ts';
import { apiApp } from '../helpers/api-app.ts';

type Labels = Record<string, string>;

/** The value of one series of a counter or gauge (0 when absent); of a histogram, its count. */
const valueOf = async (metric: Metric | undefined, labels: Labels = {}): Promise<number> => {
  assert.ok(metric, 'the metric is registered');
  const { values } = await metric.get();
  const matches = values.filter(
    (value) =>
      !(value as { metricName?: string }).metricName?.endsWith('_bucket') &&
      !(value as { metricName?: string }).metricName?.endsWith('_sum') &&
      Object.entries(labels).every(([name, wanted]) => String((value.labels as Labels)[name]) === wanted) &&
      Object.keys(value.labels).length === Object.keys(labels).length,
  );
  assert.ok(matches.length <= 1, `one series for ${JSON.stringify(labels)}`);
  return matches[0]?.value ?? 0;
};

/** Every label set of a metric (histograms: of their counts). */
const seriesOf = async (metric: Metric | undefined): Promise<Labels[]> => {
  assert.ok(metric);
  const { values } = await metric.get();
  return values
    .filter((value) => !(value as { metricName?: string }).metricName?.match(/_(bucket|sum)$/))
    .map((value) => value.labels as Labels);
};

describe('HTTP metrics', () => {
  it('counts and times answers by method, route pattern and status, never by the URL sent', async (t) => {
    const { app } = await apiApp(t);
    for (const url of ['/hit/site/one', '/hit/site/two', '/hit/other/three', '/get/site/one', '/get/site/missing']) {
      await app.inject(url);
    }
    const requests = app.metrics.registry.getSingleMetric('visitcounter_http_requests_total');
    const duration = app.metrics.registry.getSingleMetric('visitcounter_http_request_duration_seconds');
    assert.equal(await valueOf(requests, { method: 'GET', route: '/hit/:namespace/:key', status: '200' }), 3);
    assert.equal(await valueOf(duration, { method: 'GET', route: '/hit/:namespace/:key', status: '200' }), 3);
    assert.equal(await valueOf(requests, { method: 'GET', route: '/get/:namespace/:key', status: '200' }), 1);
    assert.equal(await valueOf(requests, { method: 'GET', route: '/get/:namespace/:key', status: '404' }), 1);
    assert.deepEqual(
      (await seriesOf(requests)).map((labels) => labels.route).sort(),
      ['/get/:namespace/:key', '/get/:namespace/:key', '/hit/:namespace/:key'],
    );
  });

  it('labels requests no route matches "unmatched": a thousand distinct URLs make one series', async (t) => {
    const { app } = await apiApp(t);
    for (let i = 0; i < 1000; i += 1) await app.inject(`/no-such-page/${i}?q=${i}`);
    await app.inject({ method: 'POST', url: '/count' }); // a 405, answered by the not-found handler
    const requests = app.metrics.registry.getSingleMetric('visitcounter_http_requests_total');
    assert.deepEqual(await seriesOf(requests), [
      { method: 'GET', route: 'unmatched', status: '404' },
      { method: 'POST', route: 'unmatched', status: '405' },
    ]);
    assert.equal(await valueOf(requests, { method: 'GET', route: 'unmatched', status: '404' }), 1000);
  });

  it('observes each answer\'s time in seconds', async (t) => {
    const { app } = await apiApp(t);
    await app.inject('/healthz');
    const { values } = await app.metrics.httpDuration.get();
    const sum = values.find((value) => value.metricName === 'visitcounter_http_request_duration_seconds_sum' && value.labels.route === '/healthz');
    assert.ok(sum && sum.value > 0 && sum.value < 1, `a sum of seconds: ${JSON.stringify(sum)}`);
  });
});

describe('hits counted', () => {
  it('counts each hit the store counted, on every counting route, and nothing else', async (t) => {
    const { app, counters } = await apiApp(t);
    await app.inject('/hit/site/page');
    await app.inject('/hit/site/page');
    await app.inject({ url: '/count', headers: { accept: 'application/json' } });
    await app.inject('/badge/site/page');
    await app.inject('/get/site/page');
    await app.inject('/update/site/page?amount=5');
    assert.equal(await valueOf(app.metrics.registry.getSingleMetric('visitcounter_hits_total')), 4);
    counters.available = false;
    assert.equal((await app.inject('/hit/site/page')).statusCode, 503);
    assert.equal(await valueOf(app.metrics.registry.getSingleMetric('visitcounter_hits_total')), 4, 'a failed hit is not counted');
  });

  it('starts at 0, as does the SSE streams gauge, which follows the live viewers (one per stream)', async (t) => {
    const { app } = await apiApp(t);
    const text = await app.metrics.registry.metrics();
    assert.match(text, /^visitcounter_hits_total 0$/m);
    assert.match(text, /^visitcounter_sse_streams_open 0$/m);
    const stopWatching = [app.live.watch({ namespace: 'site', key: 'a' }, () => undefined), app.live.watch({ namespace: 'site', key: 'b' }, () => undefined)];
    assert.match(await app.metrics.registry.metrics(), /^visitcounter_sse_streams_open 2$/m);
    for (const stop of stopWatching) stop();
    assert.match(await app.metrics.registry.metrics(), /^visitcounter_sse_streams_open 0$/m);
  });
});

describe('the instrumented store', () => {
  /** A store whose methods answer as told; `extra` stands for a method added to CounterStore later. */
  const stubStore = () => {
    const calls: string[] = [];
    const store = {
      prefix: 'kept',
      async get() {
        calls.push(`get:${this.prefix}`);
        return 7;
      },
      async hit() {
        throw new StoreFaultError('NOPERM');
      },
      async stats() {
        throw new StoreUnavailableError('timeout');
      },
      async info() {
        throw new TypeError('a bug');
      },
      async extra() {
        return 'new';
      },
      async close() {
        calls.push('close');
      },
    };
    return { store, calls };
  };

  it('times every method, one it has never heard of too, calling it on the store itself', async () => {
    const metrics = createMetrics();
    const { store, calls } = stubStore();
    const measured = instrumentStore(store as unknown as CounterStore, metrics);
    assert.equal(await measured.get({ namespace: 'a', key: 'b' }), 7);
    assert.equal(await (measured as unknown as typeof store).extra(), 'new');
    await measured.close();
    assert.deepEqual(calls, ['get:kept', 'close'], 'called with the store as `this`');
    const duration = metrics.registry.getSingleMetric('visitcounter_redis_command_duration_seconds');
    assert.equal(await valueOf(duration, { operation: 'get' }), 1);
    assert.equal(await valueOf(duration, { operation: 'extra' }), 1);
    assert.deepEqual((await seriesOf(duration)).map((labels) => labels.operation).sort(), ['extra', 'get'], 'close is not a serving call');
  });

  it('counts failures by kind (fault, unavailable, other) and passes each error on unchanged', async () => {
    const metrics = createMetrics();
    const measured = instrumentStore(stubStore().store as unknown as CounterStore, metrics);
    const id = { namespace: 'a', key: 'b' };
    await assert.rejects(measured.hit(id), StoreFaultError);
    await assert.rejects(measured.hit(id), StoreFaultError);
    await assert.rejects(measured.stats(), StoreUnavailableError);
    await assert.rejects(measured.info(id), TypeError);
    const errors = metrics.registry.getSingleMetric('visitcounter_redis_command_errors_total');
    assert.equal(await valueOf(errors, { operation: 'hit', kind: 'fault' }), 2);
    assert.equal(await valueOf(errors, { operation: 'stats', kind: 'unavailable' }), 1);
    assert.equal(await valueOf(errors, { operation: 'info', kind: 'other' }), 1);
    assert.equal((await seriesOf(errors)).length, 3);
    assert.equal(await valueOf(metrics.registry.getSingleMetric('visitcounter_redis_command_duration_seconds'), { operation: 'hit' }), 2, 'failures are timed too');
    assert.equal(await valueOf(metrics.registry.getSingleMetric('visitcounter_hits_total')), 0, 'a failed hit counts no hit');
  });

  it('measures a method that answers or throws at once (no promise) the same way, passing the error on', async () => {
    const metrics = createMetrics();
    const store = {
      isReadyNow: () => true,
      brokenNow: (): never => {
        throw new StoreUnavailableError('not connected');
      },
    };
    const measured = instrumentStore(store as unknown as CounterStore, metrics) as unknown as typeof store;
    assert.equal(measured.isReadyNow(), true);
    assert.throws(() => measured.brokenNow(), StoreUnavailableError);
    const duration = metrics.registry.getSingleMetric('visitcounter_redis_command_duration_seconds');
    assert.equal(await valueOf(duration, { operation: 'isReadyNow' }), 1);
    assert.equal(await valueOf(duration, { operation: 'brokenNow' }), 1);
    const errors = metrics.registry.getSingleMetric('visitcounter_redis_command_errors_total');
    assert.equal(await valueOf(errors, { operation: 'brokenNow', kind: 'unavailable' }), 1);
  });
});

describe('the registry', () => {
  it("has only the service's metrics unless asked for the process's, and then none of the three *_total gauges", async () => {
    const names = async (metrics: ReturnType<typeof createMetrics>) => (await metrics.registry.getMetricsAsJSON()).map((metric) => metric.name);
    const plain = await names(createMetrics());
    assert.ok(plain.length > 0 && plain.every((name) => name.startsWith('visitcounter_')), plain.join());
    const full = await names(createMetrics({ processMetrics: true }));
    for (const name of ['process_cpu_user_seconds_total', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_active_handles', 'nodejs_heap_size_used_bytes']) {
      assert.ok(full.includes(name), `${name} in ${full.join()}`);
    }
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) assert.ok(!full.includes(name), name);
    assert.ok(plain.every((name) => full.includes(name)));
  });
});
