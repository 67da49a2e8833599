// a slow intake (seconds per request, some past datadog.timeout so the sink gives up and retries) and connections
// reset mid-request, under load. every record answered 200 must reach the intake; duplicates are counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/forwarder.js';
import { createRig, figures, startLoad, statusLine, tally, waitDelivered } from '../helpers/load.js';

const API_KEY = 'slowin0123456789abcdef0123456789';

function count(history: Array<{ status: number | string }>, status: number | string): number {
  return history.filter((h) => h.status === status).length;
}

test(
  'a slow intake, some answers past datadog.timeout: timed out requests retried, nothing lost',
  { timeout: 120_000 },
  async (t) => {
    const rig = await createRig(t, { apiKey: API_KEY, datadog: 'batch-max-entries = 200\ntimeout = "2s"' });
    const fw = await rig.start();
    const load = startLoad({ port: fw.port!, tls: rig.tls, prefix: 'slow', connections: 8, pauseMs: 2 });
    // a failing assertion must not leave the load posting forever
    t.after(() => load.stop());
    await waitFor(() => load.acked.size >= 300, 'traffic flowing');
    // 1.5 s per request (within the 2 s timeout), then 3 s (past it: the sink abandons and retries), then 1.5 s again
    rig.intake.inject({ delayMs: 1500, times: 8 });
    rig.intake.inject({ delayMs: 3000, times: 8 });
    rig.intake.inject({ delayMs: 1500, times: 4 });
    await waitFor(() => rig.intake.pendingFaults() === 0, 'the slow answers played out', 90_000);
    const after = load.acked.size;
    await waitFor(() => load.acked.size >= after + 300, 'traffic after the slow phase');
    await load.stop();
    await waitDelivered(load.acked, rig.counts, 'after the slow phase');
    const tl = tally(load.acked, rig.counts);
    const status = await fw.getJson('/status');
    t.diagnostic(
      figures('slow intake + timeouts', tl, {
        abandoned_by_sink: count(rig.intake.history, 'abandoned'),
        network_retries: status.datadog.retries.network,
        statuses: statusLine(load.statuses),
      }),
    );
    assert.deepEqual(tl.lost, []);
    assert.ok(count(rig.intake.history, 'abandoned') >= 1, 'some requests outlived the timeout');
    assert.ok(status.datadog.retries.network >= 1, 'timeouts were retried');
    assert.equal(await fw.stop(), 0);
  },
);

test('connections reset mid-request under load: retried, nothing lost', { timeout: 120_000 }, async (t) => {
  const rig = await createRig(t, { apiKey: API_KEY, datadog: 'batch-max-entries = 200' });
  const fw = await rig.start();
  const load = startLoad({ port: fw.port!, tls: rig.tls, prefix: 'reset', connections: 8, pauseMs: 2 });
  // a failing assertion must not leave the load posting forever
  t.after(() => load.stop());
  await waitFor(() => load.acked.size >= 300, 'traffic flowing');
  rig.intake.inject({ reset: true, times: 16 });
  await waitFor(() => rig.intake.pendingFaults() === 0, 'the resets played out', 90_000);
  const after = load.acked.size;
  await waitFor(() => load.acked.size >= after + 300, 'traffic after the resets');
  await load.stop();
  await waitDelivered(load.acked, rig.counts, 'after the resets');
  const tl = tally(load.acked, rig.counts);
  const status = await fw.getJson('/status');
  t.diagnostic(
    figures('connection resets', tl, {
      resets: count(rig.intake.history, 'reset'),
      network_retries: status.datadog.retries.network,
      statuses: statusLine(load.statuses),
    }),
  );
  assert.deepEqual(tl.lost, []);
  assert.equal(count(rig.intake.history, 'reset'), 16);
  assert.ok(status.datadog.retries.network >= 16, JSON.stringify(status.datadog.retries));
  assert.equal(await fw.stop(), 0);
});
