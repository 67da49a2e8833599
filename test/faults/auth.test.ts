// datadog refuses the api key (401, then 403 for a revoked key) under load: the ingest keeps answering 200, the
// sink holds every record (nothing delivered, nothing dead-lettered), /readyz says why; once the key works again,
// delivery resumes and every acknowledged record arrives.
// the sink probes a refused key every datadog.auth-retry to twice that (default 30 s). the first case recovers the
// way an operator would after fixing a key: a restart, which probes at once. the second waits for the sink's own
// probe with auth-retry = 2s; the third with the default 30 s, only with TDF_FAULTS_LONG=1 (about 70 s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/forwarder.js';
import {
  createRig,
  figures,
  startLoad,
  statusLine,
  tally,
  waitDelivered,
  type Forwarder,
  type Rig,
} from '../helpers/load.js';

const API_KEY = 'authok0123456789abcdef0123456789';
const REVOKED_ONLY = 'another-key-0123456789abcdef0123';
const LONG = process.env.TDF_FAULTS_LONG === '1';

/** posts under a refused key; returns what was acknowledged, after checking the hold */
async function refuseUnderLoad(
  t: { diagnostic(s: string): void; after(fn: () => unknown): void },
  rig: Rig,
  fw: Forwarder,
  prefix: string,
): Promise<Set<string>> {
  const load = startLoad({ port: fw.port!, tls: rig.tls, prefix, connections: 8, pauseMs: 2 });
  // a failing assertion must not leave the load posting forever
  t.after(() => load.stop());
  await waitFor(() => load.acked.size >= 300 && rig.counts.size >= 100, 'traffic flowing with a good key');
  // revoked: a 401 first, then 403 for every request carrying the old key
  rig.intake.inject({ status: 401, times: 1 });
  rig.intake.setApiKeys([REVOKED_ONLY]);
  await waitFor(async () => (await fw.getJson('/status')).datadog.authFailing === true, 'the sink sees the refusal');
  const deliveredAtHold = rig.counts.size;
  const ackedAtHold = load.acked.size;
  await sleep(4000);
  await load.stop();
  const status = await fw.getJson('/status');
  const ready = await fw.getText('/readyz');
  t.diagnostic(
    `held: acknowledged during the hold ${load.acked.size - ackedAtHold}, delivered during it ${rig.counts.size - deliveredAtHold}, spool ${status.spool.records}, statuses ${statusLine(load.statuses)}`,
  );
  assert.equal(load.statuses.get('error') ?? 0, 0, 'the ingest answered every post');
  assert.ok(load.acked.size > ackedAtHold, 'the ingest kept acknowledging while the key was refused');
  // requests already past the intake's key check when the key was revoked may still land: allow those only
  assert.ok(rig.counts.size - deliveredAtHold <= 4 * 200, 'delivery is held');
  assert.equal(status.deadLetters, 0, 'nothing dead-lettered for an auth failure');
  assert.equal(ready.status, 503);
  assert.match(ready.text, /refuses the api key/);
  assert.ok(status.spool.records > 0);
  return load.acked;
}

test(
  '401/403 for a revoked key, then the key works again (restart): nothing dropped, delivery resumes',
  { timeout: 120_000 },
  async (t) => {
    const rig = await createRig(t, { apiKey: API_KEY, datadog: 'batch-max-entries = 200' });
    const fw = await rig.start();
    const acked = await refuseUnderLoad(t, rig, fw, 'auth');
    rig.intake.setApiKeys([API_KEY]);
    assert.equal(await fw.stop(), 0);
    const again = await rig.start();
    await waitDelivered(acked, rig.counts, 'after the key works again', 60_000);
    await waitFor(async () => (await again.getJson('/status')).spool.records === 0, 'spool drained');
    const tl = tally(acked, rig.counts);
    t.diagnostic(
      figures('401/403 then valid key (restart)', tl, {
        answered_401: rig.intake.history.filter((h) => h.status === 401).length,
        answered_403: rig.intake.history.filter((h) => h.status === 403).length,
      }),
    );
    assert.deepEqual(tl.lost, []);
    assert.equal((await again.getText('/readyz')).status, 200);
    assert.equal(await again.stop(), 0);
  },
);

test(
  "401/403, then the key works again without a restart: the sink's own probe at the default auth-retry (30 s) resumes delivery (TDF_FAULTS_LONG=1)",
  { timeout: 180_000, skip: LONG ? false : 'waits for the 30-60 s auth probe; set TDF_FAULTS_LONG=1' },
  async (t) => {
    const rig = await createRig(t, { apiKey: API_KEY, datadog: 'batch-max-entries = 200' });
    const fw = await rig.start();
    const acked = await refuseUnderLoad(t, rig, fw, 'authwait');
    const fixedAt = Date.now();
    rig.intake.setApiKeys([API_KEY]);
    await waitDelivered(acked, rig.counts, 'after the key works again', 130_000);
    await waitFor(async () => (await fw.getJson('/status')).spool.records === 0, 'spool drained');
    const tl = tally(acked, rig.counts);
    t.diagnostic(
      figures('401/403 then valid key (probe)', tl, { resumed_after_s: ((Date.now() - fixedAt) / 1000).toFixed(1) }),
    );
    assert.deepEqual(tl.lost, []);
    assert.ok(fw.logs.some((l) => l.msg === 'datadog accepts the api key again: delivery resumes'));
    assert.equal((await fw.getText('/readyz')).status, 200);
    assert.equal(await fw.stop(), 0);
  },
);

test(
  "401/403, then the key works again without a restart: the sink's own probe (auth-retry 2s) resumes delivery",
  { timeout: 120_000 },
  async (t) => {
    const rig = await createRig(t, { apiKey: API_KEY, datadog: 'batch-max-entries = 200\nauth-retry = "2s"' });
    const fw = await rig.start();
    const acked = await refuseUnderLoad(t, rig, fw, 'authprobe');
    const fixedAt = Date.now();
    rig.intake.setApiKeys([API_KEY]);
    await waitDelivered(acked, rig.counts, 'after the key works again', 60_000);
    await waitFor(async () => (await fw.getJson('/status')).spool.records === 0, 'spool drained');
    const tl = tally(acked, rig.counts);
    t.diagnostic(
      figures('401/403 then valid key (probe, auth-retry 2s)', tl, {
        resumed_after_s: ((Date.now() - fixedAt) / 1000).toFixed(1),
      }),
    );
    assert.deepEqual(tl.lost, []);
    assert.ok(fw.logs.some((l) => l.msg === 'datadog accepts the api key again: delivery resumes'));
    assert.equal((await fw.getText('/readyz')).status, 200);
    assert.equal(await fw.stop(), 0);
  },
);
