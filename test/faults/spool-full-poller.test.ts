// the spool fills up with both sources on it, through the cli: the teleport poller reading a dataset bigger than
// the spool (spool.max-bytes at its 1 MiB minimum) and the ingest taking posts, while the intake refuses every
// batch. while full, the ingest answers 503 + Retry-After and the poller waits: no chunk or recording failure
// logged, no error in /status, no new call to the auth service and no event shipped between two observations
// (a failing poller would log, set lastError, and call again after its backoff). once the intake takes batches
// again, every dataset event and every acknowledged post reaches it; duplicates are counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatedDataset } from '../../src/fakes/teleport.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';
import { awayFromUtcMidnight } from '../helpers/clock.js';
import { waitFor } from '../helpers/forwarder.js';
import {
  figures,
  startForwarder,
  startLoad,
  statusLine,
  tally,
  writeForwarderConfig,
  type Forwarder,
} from '../helpers/load.js';
import { writeTlsFiles } from '../helpers/mtls.js';
import { datasetKeys, keyOf, pollerEnv } from '../helpers/poller-env.js';
import { createPrng, seedFromEnv } from '../helpers/prng.js';

await awayFromUtcMidnight();

const API_KEY = 'spfpol0123456789abcdef0123456789';
const DAY = 86_400_000;
const MAX_BYTES = 1024 * 1024;
/** posts the load client makes (each ~1 KiB, retried until answered 200) */
const IDS = 1500;
const INGEST_TAG = 'test.log';

/** log lines of a poller that took the full spool for a failure (exporter.ts, sessions.ts, source.ts, app.ts) */
const POLLER_TROUBLE =
  /export chunk failed|export chunk keeps failing|session recording failed|listing teleport export chunks failed|teleport event search failed|teleport poller failed/;

test(
  'spool full with the poller and the ingest on it: 503 + Retry-After, the poller waits (no failure, no progress), nothing lost after recovery',
  { timeout: 120_000 },
  async (t) => {
    const prng = createPrng(seedFromEnv(Date.now()));
    t.diagnostic(`seed ${prng.seed} (TDF_SEED=${prng.seed} replays it)`); // printed first: a failing run ends before the figures
    const today = Date.parse(new Date().toISOString().slice(0, 10));
    // ~4.5 MB of audit events and recordings, over four times the spool: the poller cannot be done when it fills.
    // a session every 250 events, each recording long enough to be streaming still when the spool fills
    const dataset = generatedDataset({
      dates: { start: new Date(today - 3 * DAY), days: 3 },
      eventsPerDate: 2000,
      chunksPerDate: 4,
      sessions: { count: 24, eventsPerSession: 400 },
      seed: prng.int(1, 1_000_000),
    });
    const expectedDataset = datasetKeys(dataset);
    const { dir, fake, intake, startTime } = await pollerEnv(t, dataset, API_KEY);
    // the intake refuses every batch (and counts the attempts) until the faults are cleared
    intake.inject({ status: 503, times: Infinity });
    // the poller slowed at first so the ingest gets posts in before the spool is full
    fake.faults.slowStreamMs = 2;

    const tls = writeTlsFiles(dir);
    const identity = join(dir, 'identity');
    const { cert, key } = fake.issueClientCert({ user: 'teleport-event-handler', ttlHours: 48 });
    writeFileSync(`${identity}.tmp`, formatIdentityFile({ key, cert, cas: [fake.ca] }), { mode: 0o600 });
    renameSync(`${identity}.tmp`, identity);
    const config = writeForwarderConfig({
      dir,
      tls,
      intakeUrl: intake.url,
      top: `start-time = "${startTime}"
poll-interval = "1s"
skip-session-types = []

[spool]
max-bytes = "1MiB"

[teleport]
addr = "${fake.address}"
identity = "${identity}"`,
      ingest: 'retry-after = "1s"',
      datadog: 'batch-max-entries = 200\nretry-initial = "100ms"\nretry-max = "500ms"',
      tail: `[[match]]
pattern = "**"
source = "teleport"
include-tag-key = true`,
    });
    let fw: Forwarder | undefined;
    t.after(async () => {
      if (fw && fw.proc.exitCode === null && fw.proc.signalCode === null) {
        fw.proc.kill('SIGKILL');
        await fw.exited;
      }
    });
    fw = await startForwarder(config, { DD_API_KEY: API_KEY });
    // the ingest's posts start once a recording streams, so that the spool fills with both sources reading
    await waitFor(
      async () => ((await fw!.getJson('/status')).teleport?.sessionsActive ?? 0) > 0,
      'a recording streaming',
      30_000,
    );
    const load = startLoad({
      port: fw.port!,
      tls,
      prefix: 'sfp',
      path: `/${INGEST_TAG}`,
      connections: 8,
      padBytes: 1000,
      limit: IDS,
      retry: true,
      backoff: { baseMs: 100, capMs: 1000 },
    });
    // a failing assertion must not leave the load posting forever
    t.after(() => load.stop());
    const count503 = () => load.statuses.get('503') ?? 0;

    // full: the ingest refuses, and the spool is at its bound
    await waitFor(() => count503() >= 20, 'the spool filled up and the ingest refused posts', 30_000);
    fake.faults.slowStreamMs = 0;
    const ackedWhenFull = load.acked.size;
    // let what was admitted before the bound settle: some more refusals, and the sink refused again
    let mark = { r503: count503(), rejected: intake.rejected };
    await waitFor(
      () => count503() >= mark.r503 + 20 && intake.rejected >= mark.rejected + 8,
      'more refusals while full',
      30_000,
    );

    const observe = async () => {
      const status = await fw!.getJson('/status');
      return {
        status,
        at: Date.now(),
        acked: load.acked.size,
        progress: {
          eventsEmitted: status.teleport.eventsEmitted as number,
          sessionEventsEmitted: status.teleport.sessionEventsEmitted as number,
          exportCalls: fake.calls.ExportUnstructuredEvents?.count ?? 0,
          listCalls: fake.calls.GetEventExportChunks?.count ?? 0,
          recordingCalls: fake.calls.StreamUnstructuredSessionEvents?.count ?? 0,
        },
      };
    };
    const a = await observe();
    // the window: many more refused posts, and the sink refused again and again (a poller that failed would have
    // logged at once, and called the auth service again after its 1-3 s backoff)
    mark = { r503: count503(), rejected: intake.rejected };
    await waitFor(
      () => count503() >= mark.r503 + 50 && intake.rejected >= mark.rejected + 24,
      'the window of observation while full',
      30_000,
    );
    const b = await observe();
    const troubleWhileFull = fw.logs.filter((l) => POLLER_TROUBLE.test(String(l.msg)));
    const metrics = (await fw.getText('/metrics')).text;

    // the intake takes batches again
    intake.clearFaults();
    await load.done;
    const counts = new Map<string, number>();
    let seen = 0;
    const sync = () => {
      for (; seen < intake.logs.length; seen++) {
        const k = keyOf(intake.logs[seen]!);
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    };
    const ingestKeys = new Set([...load.acked].map((id) => `${INGEST_TAG}/${id}`));
    const expected = new Set([...expectedDataset, ...ingestKeys]);
    await waitFor(
      () => {
        sync();
        for (const k of expected) if (!counts.has(k)) return false;
        return true;
      },
      `every dataset event and acknowledged post at the intake (${expected.size} expected)`,
      60_000,
    );
    await waitFor(async () => (await fw!.getJson('/status')).spool.records === 0, 'spool drained');
    const after = await fw.getJson('/status');
    sync();

    const tl = tally(expected, counts);
    const ingestTl = tally(ingestKeys, new Map([...counts].filter(([k]) => k.startsWith(`${INGEST_TAG}/`))));
    t.diagnostic(
      figures('spool full: poller and ingest on one spool', tl, {
        dataset: expectedDataset.size,
        ingest_acknowledged: ingestTl.acknowledged,
        ingest_lost: ingestTl.lost.length,
        ingest_503: count503(),
        retry_after: [...load.retryAfter].join(','),
        acked_when_full: ackedWhenFull,
        spool_bytes_when_full: a.status.spool.bytes,
        poller_emitted_when_full: a.progress.eventsEmitted + a.progress.sessionEventsEmitted,
        recordings_held: a.status.teleport.sessionsActive,
        window_ms: b.at - a.at,
        intake_refused: intake.rejected,
        statuses: statusLine(load.statuses),
        seed: prng.seed,
      }),
    );

    // while full: the ingest refused with Retry-After, and counted it
    assert.deepEqual([...load.retryAfter], ['1'], 'every 503 carried Retry-After: 1');
    const overloaded = /^tdf_ingest_overloaded_total (\d+)/m.exec(metrics);
    assert.ok(overloaded && Number(overloaded[1]) > 0, 'the 503s are counted in /metrics');
    assert.equal(b.acked, a.acked, 'nothing acknowledged while the spool was full');
    assert.ok(a.status.spool.bytes >= MAX_BYTES * 0.9, `spool near its bound: ${a.status.spool.bytes}`);
    // the poller was held back with work left, waiting: running, no error, its streams open and held
    assert.ok(a.status.teleport.sessionsActive > 0, 'recordings were streaming (and held) too, not only export chunks');
    assert.ok(
      a.progress.eventsEmitted + a.progress.sessionEventsEmitted < expectedDataset.size,
      `the poller had more to read when the spool filled (${a.progress.eventsEmitted} + ${a.progress.sessionEventsEmitted} of ${expectedDataset.size})`,
    );
    for (const o of [a, b]) {
      const tp = o.status.teleport;
      assert.equal(tp.state, 'running');
      assert.equal(tp.lastError, null, 'a full spool is not an error for the poller');
      assert.equal(tp.failingSince, null);
      assert.deepEqual(tp.stuckChunks, []);
      assert.equal(tp.caughtUp, false);
      assert.ok(tp.streamsOpen > 0, 'streams held open while waiting for space');
      assert.deepEqual(tp.quietStreams, [], 'a stream held for spool space is not called quiet');
      // and says so
      assert.ok(
        tp.spoolWaiting > 0 && tp.spoolWaitingSince !== null,
        `status shows batches held for spool space: ${tp.spoolWaiting}`,
      );
      const check = (o.status.checks as Array<{ name: string; detail: string }>).find((c) => c.name === 'teleport');
      assert.match(String(check?.detail), /^running, waiting for spool space for /);
    }
    assert.equal(
      a.status.teleport.spoolWaitingSince,
      b.status.teleport.spoolWaitingSince,
      'one wait, from before the first observation',
    );
    assert.match(metrics, /^tdf_teleport_spool_waiting [1-9]/m);
    assert.deepEqual(
      troubleWhileFull.map((l) => l.msg),
      [],
      'no chunk or recording failure logged while full',
    );
    // no progress and no new call to the auth service between the two observations
    assert.deepEqual(
      b.progress,
      a.progress,
      'the poller neither shipped nor called the auth service while the spool was full',
    );

    // after: every dataset event and every acknowledged post delivered
    assert.equal(load.acked.size, IDS, 'every post eventually acknowledged');
    assert.equal(load.statuses.get('error') ?? 0, 0);
    assert.deepEqual(tl.lost, []);
    assert.equal(tl.unacknowledgedDelivered, 0, 'nothing delivered that was neither in the dataset nor acknowledged');
    assert.ok(
      after.teleport.eventsEmitted + after.teleport.sessionEventsEmitted >= expectedDataset.size,
      'the poller went on once there was space',
    );
    assert.deepEqual(
      fw.logs.filter((l) => POLLER_TROUBLE.test(String(l.msg))).map((l) => l.msg),
      [],
      'no poller failure at all',
    );
    assert.equal(after.teleport.lastError, null);
    assert.equal(after.teleport.spoolWaiting, 0, 'nothing held once the spool drained');
    assert.equal(after.teleport.spoolWaitingSince, null);
    assert.equal(await fw.stop(), 0);
  },
);
