// the histogram of our own must render what prom-client's Histogram with labelNames ['code'] renders for the same
// observations: dashboards read its buckets, sums and counts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { codeHistogram, codeLabel } from '../../src/telemetry/code-histogram.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function pair(): { ours: Registry; theirs: Registry; observe(status: number | null, s: number): void } {
  const ours = new Registry();
  const theirs = new Registry();
  const h = codeHistogram(ours, { name: 'h_seconds', help: 'Help "text".', buckets: BUCKETS });
  const p = new Histogram({
    name: 'h_seconds',
    help: 'Help "text".',
    labelNames: ['code'],
    buckets: BUCKETS,
    registers: [theirs],
  });
  return {
    ours,
    theirs,
    observe(status, s) {
      h.observe(status, s);
      p.observe({ code: codeLabel(status) }, s);
    },
  };
}

test('code histogram: no observation, no series (only help and type)', async () => {
  const { ours, theirs } = pair();
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.doesNotMatch(await ours.metrics(), /h_seconds_bucket/);
});

test('code histogram: renders as prom-client does, bounds inclusive, codes in order of first use', async () => {
  const { ours, theirs, observe } = pair();
  const cases: Array<[number | null, number]> = [
    [200, 0.003],
    [200, 0.001], // on a bound: counted in it (le)
    [200, 0],
    [503, 0.2],
    [null, 30],
    [202, 31], // above every bound: +Inf only
    [99, 0.01], // not an http status: "none"
    [600, 0.5],
    [200.5, 0.02],
    [404, 1e-9],
    [200, 2.5],
  ];
  for (const [status, s] of cases) observe(status, s);
  // a deterministic spread over every bucket and a few codes
  let x = 7;
  for (let i = 0; i < 2000; i++) {
    x = (x * 48271) % 2147483647;
    observe([200, 400, 413, 503, null][x % 5]!, (x % 40_000) / 1000);
  }
  const text = await ours.metrics();
  assert.equal(text, await theirs.metrics());
  assert.match(text, /h_seconds_bucket\{le="0.001",code="200"\} 2\n/);
  assert.match(text, /h_seconds_bucket\{le="30",code="202"\} 0\n/);
  assert.match(text, /h_seconds_bucket\{le="\+Inf",code="202"\} 1\n/);
  assert.deepEqual(
    [...text.matchAll(/_count\{code="([^"]+)"\}/g)].map((m) => m[1]),
    ['200', '503', 'none', '202', '404', '413', '400'],
  );
});

test('code histogram: a registry reset empties it, as it empties prom-client histograms', async () => {
  const { ours, theirs, observe } = pair();
  observe(200, 0.1);
  ours.resetMetrics();
  theirs.resetMetrics();
  assert.equal(await ours.metrics(), await theirs.metrics());
  observe(500, 0.1);
  assert.equal(await ours.metrics(), await theirs.metrics());
});
