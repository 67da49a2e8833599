// SIGTERM under load: the forwarder stops taking new posts, finishes the ones in flight (each gets its answer),
// lets deliveries in flight finish, closes the spool and exits 0. whatever was acknowledged and not yet delivered
// is delivered after the restart. clients retry like teleport-event-handler, so they keep posting into the stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/forwarder.js';
import { createRig, figures, startLoad, statusLine, tally, waitDelivered } from '../helpers/load.js';

const API_KEY = 'sigter0123456789abcdef0123456789';

test(
  'SIGTERM under load: in-flight posts answered, exit 0, nothing acknowledged lost after the restart',
  { timeout: 120_000 },
  async (t) => {
    const rig = await createRig(t, { apiKey: API_KEY, datadog: 'batch-max-entries = 100' });
    // a slow intake keeps records queued and requests to it in flight when the signal lands
    rig.intake.inject({ delayMs: 300, times: 1_000_000 });
    const fw = await rig.start();
    let exitedAt = Infinity;
    let errorsWhileRunning = 0;
    let refused = 0;
    const errorTexts = new Set<string>();
    const load = startLoad({
      port: fw.port!,
      tls: rig.tls,
      prefix: 'term',
      connections: 8,
      retry: true,
      backoff: { baseMs: 100, capMs: 500 },
      onResult: (_id, r) => {
        if (r instanceof Error && /ECONNREFUSED/.test(r.message)) refused++;
        // a refused connection sent nothing: the listener is closed while deliveries drain
        if (r instanceof Error && Date.now() < exitedAt && !/ECONNREFUSED/.test(r.message)) {
          errorsWhileRunning++;
          errorTexts.add(r.message);
        }
      },
    });
    // a failing assertion must not leave the load posting forever
    t.after(() => load.stop());
    await waitFor(() => load.acked.size >= 1500, 'traffic flowing');
    fw.proc.kill('SIGTERM');
    const code = await fw.exited;
    exitedAt = Date.now();
    await load.stop();
    const spooled = fw.logs.find(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('stopped; undelivered records stay'),
    );
    assert.equal(code, 0, fw.stderr());
    assert.ok(
      fw.logs.some((l) => l.msg === 'stopping: no new records are accepted' && l.reason === 'received SIGTERM'),
    );
    assert.ok(spooled, 'the stop was logged with what stays in the spool');

    rig.intake.clearFaults();
    const again = await rig.start();
    await waitDelivered(load.acked, rig.counts, 'after the restart');
    await waitFor(async () => (await again.getJson('/status')).spool.records === 0, 'spool drained');
    assert.equal(await again.stop(), 0);
    const tl = tally(load.acked, rig.counts);
    t.diagnostic(
      figures('SIGTERM under load', tl, {
        undelivered_at_stop: spooled?.undelivered,
        unanswered_posts: errorsWhileRunning,
        refused_connections: refused,
        error_kinds: [...errorTexts].join('|'),
        statuses: statusLine(load.statuses),
      }),
    );
    assert.deepEqual(tl.lost, []);
    // a post racing the close of an idle keep-alive connection may get a reset (the client retries it); a post the
    // server had read is always answered. at most one such race per connection.
    assert.ok(
      errorsWhileRunning <= 8,
      `posts without an answer while the forwarder still ran: ${errorsWhileRunning} (${[...errorTexts].join(', ')})`,
    );
  },
);
