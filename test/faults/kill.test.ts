// kill -9 at random moments under load, several times in a row, with the intake randomly fast or slow, then a
// restart that drains: every record answered 200 reaches the intake. the moments come from a seeded prng (the
// seed is printed; TDF_SEED=<n> replays a run). test/e2e/crash.test.ts kills at fixed points (every 1500
// acknowledgements); this one kills at random times, also right after start and in the middle of deliveries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/forwarder.js';
import { createRig, figures, startLoad, statusLine, tally, waitDelivered } from '../helpers/load.js';
import { createPrng, seedFromEnv } from '../helpers/prng.js';

const API_KEY = 'killme0123456789abcdef0123456789';
const ROUNDS = 6;

// both acknowledgement modes: `written` answers 200 before the fsync, and a kill -9 of the process must not lose
// those records either (they are in leveldb's log in the os)
for (const ack of ['fsync', 'written'] as const) {
  test(
    `kill -9 at random moments under load, six times in a row, ingest.ack = ${ack}: no acknowledged record lost`,
    { timeout: 150_000 },
    async (t) => {
      const prng = createPrng(seedFromEnv(Date.now()));
      t.diagnostic(`seed ${prng.seed} (TDF_SEED=${prng.seed} replays it)`);
      const rig = await createRig(t, { apiKey: API_KEY, datadog: 'batch-max-entries = 100', ingest: `ack = "${ack}"` });
      const acked = new Set<string>();
      const statuses = new Map<string, number>();
      const moments: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        rig.intake.clearFaults();
        // half the rounds a slow intake (records in flight when the kill lands), half a fast one (acks being written)
        const slow = prng.bool();
        if (slow) rig.intake.inject({ delayMs: prng.int(50, 400), times: 1_000_000 });
        const fw = await rig.start();
        const load = startLoad({ port: fw.port!, tls: rig.tls, prefix: `k${round}`, connections: 8 });
        // a failing assertion must not leave the load posting forever
        t.after(() => load.stop());
        const after = prng.int(0, 2500);
        await sleep(after);
        fw.proc.kill('SIGKILL');
        await fw.exited;
        await load.stop();
        for (const id of load.acked) acked.add(id);
        for (const [k, v] of load.statuses) statuses.set(k, (statuses.get(k) ?? 0) + v);
        moments.push(`${after}ms${slow ? '/slow' : ''}:${load.acked.size}`);
      }
      rig.intake.clearFaults();
      const fw = await rig.start();
      assert.equal((await fw.getJson('/status')).config.ingest.ack, ack, 'the mode under test is the one in use');
      await waitDelivered(acked, rig.counts, 'after the last restart', 90_000);
      await waitFor(async () => (await fw.getJson('/status')).spool.records === 0, 'spool drained');
      assert.equal(await fw.stop(), 0);
      const tl = tally(acked, rig.counts);
      t.diagnostic(
        figures(`kill -9 x6 at random moments, ingest.ack = ${ack}`, tl, {
          seed: prng.seed,
          kills: moments.join(' '),
          statuses: statusLine(statuses),
        }),
      );
      assert.deepEqual(tl.lost, []);
      assert.ok(acked.size > 0);
    },
  );
}
