// the datadog intake goes away under load and comes back. "minutes" of outage are scaled down to OUTAGE_MS (15 s by
// default, TDF_OUTAGE_MS to change it): the sink's backoff window grows past the outage either way, so a longer one
// only adds records and waiting. every record answered 200 must reach the intake; duplicates are counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/forwarder.js';
import { createRig, figures, startLoad, statusLine, tally, waitDelivered } from '../helpers/load.js';

const API_KEY = 'outage0123456789abcdef0123456789';
const OUTAGE_MS = Number(process.env.TDF_OUTAGE_MS ?? 15_000);

test(
  'intake down for a while under load, then back: every acknowledged record delivered',
  { timeout: OUTAGE_MS + 165_000 },
  async (t) => {
    const rig = await createRig(t, { apiKey: API_KEY, datadog: 'batch-max-entries = 200' });
    const fw = await rig.start();
    const load = startLoad({ port: fw.port!, tls: rig.tls, prefix: 'outage', connections: 8, pauseMs: 2 });
    // a failing assertion must not leave the load posting forever
    t.after(() => load.stop());
    await waitFor(() => load.acked.size >= 300, 'traffic flowing before the outage');

    await rig.intake.setDown(true);
    const ackedBefore = load.acked.size;
    await sleep(OUTAGE_MS);
    const ackedDuring = load.acked.size - ackedBefore;
    const during = await fw.getJson('/status');
    await rig.intake.setDown(false);
    const upAt = Date.now();
    // keep posting after the intake is back
    await waitFor(() => load.acked.size >= ackedBefore + ackedDuring + 300, 'traffic after the outage');
    await load.stop();

    await waitDelivered(load.acked, rig.counts, 'after the outage', 150_000);
    await waitFor(async () => (await fw.getJson('/status')).spool.records === 0, 'spool drained', 30_000);
    // reported, not asserted: the sink's backoff (full jitter, 60 s cap) decides how soon it notices the intake is back
    const recoveryS = ((Date.now() - upAt) / 1000).toFixed(1);
    const tl = tally(load.acked, rig.counts);
    t.diagnostic(
      figures('intake down', tl, {
        outage_ms: OUTAGE_MS,
        acked_during_outage: ackedDuring,
        spool_records_at_peak: during.spool.records,
        drained_s_after_back: recoveryS,
        statuses: statusLine(load.statuses),
      }),
    );
    assert.ok(ackedDuring > 0, 'the ingest kept accepting while the intake was down');
    assert.ok(during.spool.records > 0, 'records waited in the spool');
    assert.deepEqual(tl.lost, [], 'no acknowledged record lost');
    assert.equal(load.statuses.get('error') ?? 0, 0, 'every post was answered');
    assert.equal(await fw.stop(), 0);
  },
);
