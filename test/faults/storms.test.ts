// the intake answers errors under load: 500 and 503 storms, then 429s with datadog's rate-limit headers. every
// record answered 200 must reach the intake; duplicates are counted (an error answer carries nothing, so none are
// expected here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/forwarder.js';
import { createRig, figures, startLoad, statusLine, tally, waitDelivered } from '../helpers/load.js';

const API_KEY = 'storms0123456789abcdef0123456789';

function rejected(history: Array<{ status: number | string }>, status: number): number {
  return history.filter((h) => h.status === status).length;
}

test('500 and 503 storms under load: retried until accepted, nothing lost', { timeout: 120_000 }, async (t) => {
  const rig = await createRig(t, { apiKey: API_KEY, datadog: 'batch-max-entries = 100' });
  const fw = await rig.start();
  const load = startLoad({ port: fw.port!, tls: rig.tls, prefix: 'storm', connections: 8, pauseMs: 2 });
  // a failing assertion must not leave the load posting forever
  t.after(() => load.stop());
  await waitFor(() => load.acked.size >= 300, 'traffic flowing');
  // storms sized so that the backoff (500 ms base, doubling, full jitter) stays within seconds: ~5 per worker
  rig.intake.inject({ status: 500, times: 8 });
  rig.intake.inject({ status: 503, times: 8, headers: { 'retry-after': '1' } });
  rig.intake.inject({ status: 502, times: 4 });
  await waitFor(() => rig.intake.pendingFaults() === 0, 'the storm played out', 60_000);
  const after = load.acked.size;
  await waitFor(() => load.acked.size >= after + 300, 'traffic after the storm');
  await load.stop();
  await waitDelivered(load.acked, rig.counts, 'after the storm');
  const tl = tally(load.acked, rig.counts);
  const h = rig.intake.history;
  t.diagnostic(
    figures('500/503 storm', tl, {
      answered_500: rejected(h, 500),
      answered_503: rejected(h, 503),
      answered_502: rejected(h, 502),
      statuses: statusLine(load.statuses),
    }),
  );
  assert.deepEqual(tl.lost, []);
  assert.equal(rejected(h, 500) + rejected(h, 503) + rejected(h, 502), 20, 'every injected error was answered');
  const status = await fw.getJson('/status');
  assert.ok(status.datadog.retries['5xx'] >= 20, JSON.stringify(status.datadog.retries));
  assert.equal(await fw.stop(), 0);
});

test('429 with rate-limit reset headers under load: waits, retries, nothing lost', { timeout: 120_000 }, async (t) => {
  const rig = await createRig(t, { apiKey: API_KEY, datadog: 'batch-max-entries = 100' });
  const fw = await rig.start();
  const load = startLoad({ port: fw.port!, tls: rig.tls, prefix: 'ratelimit', connections: 8, pauseMs: 2 });
  // a failing assertion must not leave the load posting forever
  t.after(() => load.stop());
  await waitFor(() => load.acked.size >= 300, 'traffic flowing');
  const headers = {
    'x-ratelimit-limit': '100',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-period': '10',
    'x-ratelimit-reset': '2',
  };
  rig.intake.inject({ status: 429, times: 16, headers });
  // a retry-after (seconds) wins over the reset header
  rig.intake.inject({ status: 429, times: 4, headers: { ...headers, 'retry-after': '1' } });
  await waitFor(() => rig.intake.pendingFaults() === 0, 'the 429s were answered', 60_000);
  const after = load.acked.size;
  await waitFor(() => load.acked.size >= after + 300, 'traffic after the rate limit');
  await load.stop();
  await waitDelivered(load.acked, rig.counts, 'after the rate limit');
  const tl = tally(load.acked, rig.counts);
  t.diagnostic(
    figures('429 rate limit', tl, {
      answered_429: rejected(rig.intake.history, 429),
      statuses: statusLine(load.statuses),
    }),
  );
  assert.deepEqual(tl.lost, []);
  const status = await fw.getJson('/status');
  assert.equal(status.datadog.retries['429'], 20, JSON.stringify(status.datadog.retries));
  assert.equal(await fw.stop(), 0);
});
