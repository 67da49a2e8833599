// operating it: metrics move with traffic, readiness follows the Datadog key, SIGHUP rotates the ingest's
// certificates without a restart, SIGTERM stops cleanly. all through the real CLI.
import { test } from 'node:test';
import { metric } from '../helpers/metrics.js';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCA, createCert } from '../../src/tls/certs.js';
import { MtlsClient } from '../helpers/mtls.js';
import { runForwarder, startIngestE2e, writeIngestConfig, waitFor } from '../helpers/forwarder.js';

const API_KEY = 'ops0123456789abcdef0123456789abcd';

async function setup(t: import('node:test').TestContext) {
  const e = await startIngestE2e(t, API_KEY, (dir, tls, url) =>
    writeIngestConfig(dir, tls, url, { extra: 'auth-retry = "300ms"\nretry-initial = "50ms"' }),
  );
  const admin = await e.fw.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('admin server listening'));
  return { ...e, base: `http://127.0.0.1:${admin.port}` };
}

test('metrics change as traffic flows, and /status tells the same story', async (t) => {
  const { intake, base, client } = await setup(t);
  const before = await (await fetch(`${base}/metrics`)).text();
  assert.equal(metric(before, 'tdf_records_delivered_total') || 0, 0);
  for (let i = 0; i < 25; i++) {
    const r = await client.post(
      '/test.log',
      JSON.stringify({ event: 'user.login', code: 'T1000I', uid: `m-${i}`, time: new Date().toISOString() }),
    );
    assert.equal(r.status, 200);
  }
  await client.post('/test.log', 'not json');
  await waitFor(() => intake.logs.length >= 25, 'delivery');
  let after = '';
  await waitFor(async () => {
    after = await (await fetch(`${base}/metrics`)).text();
    return metric(after, 'tdf_records_delivered_total') === 25;
  }, 'delivered counter at 25');
  assert.equal(metric(after, 'tdf_records_received_total', { source: 'http', tag: 'test.log' }), 25);
  assert.equal(metric(after, 'tdf_records_spooled_total'), 25);
  assert.equal(metric(after, 'tdf_spool_records'), 0);
  assert.ok(metric(after, 'tdf_ingest_request_duration_seconds_count', { code: '200' }) >= 25);
  assert.ok(metric(after, 'tdf_ingest_request_duration_seconds_count', { code: '400' }) >= 1);
  assert.ok(metric(after, 'tdf_datadog_request_duration_seconds_count') >= 1);
  assert.ok(after.includes('process_resident_memory_bytes'));
  const status = (await (await fetch(`${base}/status`)).json()) as any;
  assert.equal(status.spool.records, 0);
  assert.ok(!JSON.stringify(status).includes(API_KEY), 'no api key in /status');
  assert.ok(!after.includes(API_KEY), 'no api key in /metrics');
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
});

test('readiness turns 503 while Datadog refuses the key, and back once it accepts it; nothing is dropped', async (t) => {
  const { intake, base, client } = await setup(t);
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  intake.setApiKeys(['some-other-key']);
  for (let i = 0; i < 10; i++)
    assert.equal((await client.post('/test.log', JSON.stringify({ uid: `k-${i}`, event: 'x' }))).status, 200);
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 503, 'readyz 503');
  const body = (await (await fetch(`${base}/readyz`)).json()) as any;
  assert.match(JSON.stringify(body), /datadog/i);
  assert.equal(intake.logs.length, 0);
  intake.setApiKeys([API_KEY]);
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 'readyz back to 200');
  await waitFor(() => intake.logs.length === 10, 'the held records delivered');
});

test('SIGHUP picks up rotated ingest certificates: the new CA is accepted, the old one refused', async (t) => {
  const { dir, tls, intake, fw, client } = await setup(t);
  assert.equal((await client.post('/test.log', JSON.stringify({ uid: 'before' }))).status, 200);
  client.close();
  // rotate: a new CA, server cert and client cert, written over the configured files
  const ca2 = createCA({ commonName: 'CA2' });
  const server2 = createCert(ca2, { usage: 'server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const client2 = createCert(ca2, { usage: 'client', commonName: 'Client2' });
  writeFileSync(tls.paths.ca, ca2.cert);
  writeFileSync(tls.paths.cert, server2.cert);
  writeFileSync(tls.paths.key, server2.key, { mode: 0o600 });
  fw.proc.kill('SIGHUP');
  await fw.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('reloaded'));
  const fresh = new MtlsClient(fw.port!, { ...tls, ca: ca2, client: client2 });
  const old = new MtlsClient(fw.port!, tls);
  t.after(() => {
    fresh.close();
    old.close();
  });
  assert.equal((await fresh.post('/test.log', JSON.stringify({ uid: 'after' }))).status, 200);
  await assert.rejects(old.post('/test.log', JSON.stringify({ uid: 'old' })), 'a client of the old CA is refused');
  await waitFor(() => intake.logs.length === 2, 'both accepted records delivered');
  void dir;
});

test('SIGTERM drains and exits 0; a second instance on the same storage refuses to start', async (t) => {
  const { dir, fw } = await setup(t);
  const second = await runForwarder(
    [
      'start',
      '--storage',
      join(dir, 'storage'),
      '--ingest-ca',
      join(dir, 'ca.crt'),
      '--ingest-cert',
      join(dir, 'server.crt'),
      '--ingest-key',
      join(dir, 'server.key'),
      '--ingest-port',
      '0',
    ],
    { DD_API_KEY: API_KEY },
    { waitForIngest: false },
  );
  assert.equal(await second.exited, 2);
  assert.match(second.stderr(), /in use by another teleport-datadog-forwarder/);
  assert.equal(await fw.stop('SIGTERM'), 0);
  assert.ok(fw.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('stopped')));
});
