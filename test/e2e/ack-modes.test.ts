// the two acknowledgement modes through the cli, as a user sets them: ingest.ack = fsync (the default) and written
// (200 once in leveldb's log in the os, then a background sync). what each says in /status, /metrics and `status`,
// that written really syncs in the background, and that the request-duration histogram measures real requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRig, eventBody, waitDelivered } from '../helpers/load.js';
import { waitFor } from '../helpers/forwarder.js';
import { MtlsClient } from '../helpers/mtls.js';
import { runCli } from '../helpers/cli.js';
import { metric } from '../helpers/metrics.js';

const API_KEY = 'ackmodes0123456789abcdef01234567';

for (const ack of ['fsync', 'written'] as const) {
  test(`ingest.ack = ${ack}: shown in /status, /metrics and status; syncs counted by trigger`, async (t) => {
    const rig = await createRig(t, {
      apiKey: API_KEY,
      ingest: ack === 'written' ? 'ack = "written"\nsync-interval = "20ms"' : '',
    });
    const fw = await rig.start();
    const client = new MtlsClient(fw.port!, rig.tls, 1);
    t.after(() => client.close());
    // one connection, one event per request, as teleport-event-handler posts
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `${ack}-${i}`;
      const res = await client.post('/test.log', eventBody(id));
      assert.equal(res.status, 200, res.body);
      ids.push(id);
    }
    await waitDelivered(new Set(ids), rig.counts, 'all posted events', 30_000);

    const status = await fw.getJson('/status');
    assert.equal(status.config.ingest.ack, ack);
    assert.equal(status.ingest.stats.ack, ack);
    const metrics = (await fw.getText('/metrics')).text;
    assert.equal(metric(metrics, 'tdf_ingest_ack_mode', { mode: ack }), 1);
    assert.equal(metric(metrics, 'tdf_ingest_ack_mode', { mode: ack === 'fsync' ? 'written' : 'fsync' }), 0);
    const background = metric(metrics, 'tdf_spool_syncs_total', { trigger: 'background' });
    const byWrite = metric(metrics, 'tdf_spool_syncs_total', { trigger: 'write' });
    if (ack === 'written') {
      // every append was written without fsync: only the background sync made them durable
      assert.ok(background >= 1, `background syncs: ${background}`);
      assert.equal(byWrite, 0, 'no append was fsynced before its 200');
      // once the timer has run after the last append, nothing is left unsynced
      await waitFor(
        async () => metric((await fw.getText('/metrics')).text, 'tdf_spool_unsynced_seconds') === 0,
        'the last background sync',
      );
    } else {
      assert.equal(background, 0, 'fsync mode needs no background sync');
      assert.ok(byWrite >= 40, `every acknowledged request was fsynced: ${byWrite}`);
    }

    const shown = await runCli(['status', '--config', rig.config, '--url', fw.adminUrl], rig.env);
    assert.equal(shown.code, 0, shown.out);
    assert.match(
      shown.out,
      ack === 'written' ? /acks once written \(fsync within 20 ms\)/ : /acks once fsynced/,
      shown.out,
    );
    assert.equal(await fw.stop(), 0);
  });
}

test('tdf_ingest_request_duration_seconds measures real requests (it was always 0)', async (t) => {
  const rig = await createRig(t, { apiKey: API_KEY });
  const fw = await rig.start();
  const client = new MtlsClient(fw.port!, rig.tls, 1);
  t.after(() => client.close());
  for (let i = 0; i < 20; i++) assert.equal((await client.post('/test.log', eventBody(`small-${i}`))).status, 200);
  // a body of several MiB takes well over a millisecond to receive, parse and store
  const big = JSON.stringify(Array.from({ length: 5000 }, (_, i) => JSON.parse(eventBody(`big-${i}`, 1000))));
  assert.equal((await client.post('/test.log', big)).status, 200);
  const text = (await fw.getText('/metrics')).text;
  const series = 'tdf_ingest_request_duration_seconds';
  const count = metric(text, `${series}_count`, { code: '200' });
  const sum = metric(text, `${series}_sum`, { code: '200' });
  const fastest = metric(text, `${series}_bucket`, { le: '0.001', code: '200' });
  assert.equal(count, 21);
  assert.ok(sum > 0, `sum ${sum}`);
  assert.ok(fastest < count, `the big request is not in the le="0.001" bucket: ${fastest} of ${count}`);
  assert.equal(await fw.stop(), 0);
});
