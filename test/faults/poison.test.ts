// the intake answers 400 for any batch holding a poisoned record (a log datadog refuses for good). under load, the
// sink must bisect each such batch so that only the poisoned records are dead-lettered and every other record of
// the batch is delivered. checked through /status while running and `spool ls --dead` through the cli after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { waitFor } from '../helpers/forwarder.js';
import { createRig, eventBody, figures, startLoad, statusLine, tally, waitDelivered } from '../helpers/load.js';
import { MtlsClient } from '../helpers/mtls.js';
import { cliCommand } from '../helpers/paths.js';

const API_KEY = 'poison0123456789abcdef0123456789';
const MARK = 'POISONED-RECORD';

test(
  '400 for a poisoned record in a batch: only it is dead-lettered, the rest delivered',
  { timeout: 120_000 },
  async (t) => {
    const rig = await createRig(t, { apiKey: API_KEY, datadog: 'batch-max-entries = 200' });
    rig.intake.addPoison(MARK);
    const fw = await rig.start();
    const load = startLoad({ port: fw.port!, tls: rig.tls, prefix: 'clean', connections: 8, pauseMs: 2 });
    // a failing assertion must not leave the load posting forever
    t.after(() => load.stop());
    const one = new MtlsClient(fw.port!, rig.tls, 1);
    t.after(() => one.close());
    const poisoned: string[] = [];
    for (let i = 0; i < 3; i++) {
      // slow answers let records pile up, so each poisoned one sits in a full batch of 200
      rig.intake.inject({ delayMs: 1500, times: 4 });
      await waitFor(() => load.acked.size >= 500 * (i + 1), 'traffic around the poisoned records');
      const id = `${MARK}-${i}`;
      const res = await one.post('/test.log', eventBody(id));
      assert.equal(res.status, 200, 'the ingest cannot know: it acknowledges');
      poisoned.push(id);
    }
    await waitFor(() => load.acked.size >= 2000, 'traffic after the poisoned records');
    await load.stop();
    await waitDelivered(load.acked, rig.counts, 'clean records');
    await waitFor(async () => (await fw.getJson('/status')).deadLetters === 3, 'three dead letters');
    await waitFor(async () => (await fw.getJson('/status')).spool.records === 0, 'spool drained');
    const tl = tally(load.acked, rig.counts);
    const refused = rig.intake.history.filter((h) => h.status === 400).length;
    t.diagnostic(
      figures('400 poisoned record', tl, {
        poisoned: poisoned.length,
        dead_lettered: 3,
        requests_answered_400: refused,
        largest_batch: rig.intake.maxEntriesSeen,
        statuses: statusLine(load.statuses),
      }),
    );
    assert.deepEqual(tl.lost, []);
    assert.ok(rig.intake.maxEntriesSeen > 100, 'poisoned records travelled in large batches');
    assert.ok(refused > 3, 'batches were split to find the poisoned record');
    for (const id of poisoned) assert.equal(rig.counts.get(id), undefined, `${id} never accepted`);
    assert.equal(await fw.stop(), 0);

    // after stopping: the cli opens the storage itself and lists exactly the poisoned records
    const ls = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'spool', 'ls', '--dead', '--config', rig.config], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(ls.status, 0, ls.stderr);
    assert.match(ls.stdout, /3 dead letters\n$/);
    const entries = ls.stdout.split('\n').filter((l) => l.startsWith('d!'));
    assert.equal(entries.length, 3, ls.stdout);
    for (const line of entries) assert.match(line, /status 400 {2}HTTP 400 Bad Request: .*rejected value/);
    for (const id of poisoned) assert.ok(ls.stdout.includes(id), `${id} listed`);
    assert.ok(!/clean-\d/.test(ls.stdout), 'no clean record dead-lettered');
  },
);
