// the spool fills up (spool.max-bytes at its 1 MiB minimum, ~1 KiB records, the intake down): the ingest must
// answer 503 + Retry-After instead of 200, keep everything it did acknowledge, and accept again once the intake is
// back. the clients retry every refused post with the same id, as teleport-event-handler does (backoff scaled
// down from its 1-10 s), so in the end every id is acknowledged and delivered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/forwarder.js';
import { createRig, figures, startLoad, statusLine, tally, waitDelivered } from '../helpers/load.js';

const API_KEY = 'spoolf0123456789abcdef0123456789';
const MAX_BYTES = 1024 * 1024;
const IDS = 4000;

test(
  'spool full: 503 + Retry-After, nothing acknowledged lost, every retried post accepted after recovery',
  { timeout: 150_000 },
  async (t) => {
    const rig = await createRig(t, {
      apiKey: API_KEY,
      top: '[spool]\nmax-bytes = "1MiB"',
      ingest: 'retry-after = "1s"',
      datadog: 'batch-max-entries = 200',
    });
    const fw = await rig.start();
    await rig.intake.setDown(true);
    const load = startLoad({
      port: fw.port!,
      tls: rig.tls,
      prefix: 'full',
      connections: 8,
      padBytes: 1000,
      limit: IDS,
      retry: true,
      backoff: { baseMs: 200, capMs: 2000 },
    });
    // a failing assertion must not leave the load posting forever
    t.after(() => load.stop());
    await waitFor(() => (load.statuses.get('503') ?? 0) >= 50, 'the spool filled up and the ingest refused posts');
    const full = await fw.getJson('/status');
    const metrics = (await fw.getText('/metrics')).text;
    const ackedWhenFull = load.acked.size;
    // stays full (and refusing) while the intake is down
    await sleep(3000);
    const ackedWhileFull = load.acked.size - ackedWhenFull;
    await rig.intake.setDown(false);
    await load.done;
    await waitDelivered(load.acked, rig.counts, 'after the intake came back', 120_000);
    await waitFor(async () => (await fw.getJson('/status')).spool.records === 0, 'spool drained');
    const tl = tally(load.acked, rig.counts);
    t.diagnostic(
      figures('spool full', tl, {
        max_bytes: MAX_BYTES,
        spool_bytes_when_full: full.spool.bytes,
        acked_when_full: ackedWhenFull,
        retry_after: [...load.retryAfter].join(','),
        statuses: statusLine(load.statuses),
      }),
    );
    assert.equal(ackedWhileFull, 0, 'nothing acknowledged while the spool was full');
    assert.ok(full.spool.bytes >= MAX_BYTES * 0.9, `spool near its bound: ${full.spool.bytes}`);
    // the bound is overshot by at most the appends already admitted (8 connections of one record each)
    assert.ok(full.spool.bytes < MAX_BYTES + 8 * 1200, `spool over its bound: ${full.spool.bytes}`);
    assert.deepEqual([...load.retryAfter], ['1'], 'every 503 carried Retry-After: 1');
    const overloaded = /^tdf_ingest_overloaded_total (\d+)/m.exec(metrics);
    assert.ok(overloaded && Number(overloaded[1]) > 0, 'the 503s are counted in /metrics');
    assert.equal(load.acked.size, IDS, 'every id was eventually acknowledged');
    assert.equal(load.unanswered.size, 0);
    assert.deepEqual(tl.lost, []);
    assert.equal(load.statuses.get('error') ?? 0, 0);
    assert.equal(await fw.stop(), 0);
  },
);
