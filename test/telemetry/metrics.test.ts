import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSpool } from '../../src/spool/spool.js';
import { createRouter } from '../../src/router/router.js';
import { createDatadogSink } from '../../src/sinks/datadog/sink.js';
import { sectionDefaults } from '../../src/config/sections.js';
import { startFakeIntake } from '../../src/fakes/intake.js';
import { createMetrics, foldTag } from '../../src/telemetry/metrics.js';
import { ingestStats, sample, series, silentLogger, teleportStatus, tempDir, waitFor } from './support.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

test('foldTag folds session ids and id-like segments, keeps names', () => {
  const cases: Array<[string, string, string?]> = [
    ['session.6a3bd1d2-9f3e-4c5a-8d0e-1b2c3d4e5f60.log', 'session.*.log'],
    ['session.anything-at-all.log', 'session.*.log'],
    ['rec.6a3bd1d2-9f3e-4c5a-8d0e-1b2c3d4e5f60.log', 'rec.*.log', 'rec'],
    ['events.log', 'events.log'],
    ['test.log', 'test.log'],
    ['session.log', 'session.log'],
    ['app.0123456789abcdef0123.out', 'app.*.out'],
    ['build.12345678.log', 'build.*.log'],
    ['6a3bd1d2-9f3e-4c5a-8d0e-1b2c3d4e5f60', '*'],
  ];
  for (const [tag, want, prefix = 'session'] of cases) assert.equal(foldTag(tag, prefix), want, tag);
  const long = foldTag('a'.repeat(500), 'session');
  assert.ok(long.length <= 129, 'long tags are cut');
});

test('exposition holds the expected series, read from the components at scrape time', async (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  let clock = Date.parse('2024-05-01T12:00:00Z');
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 10 * 1024 * 1024, now: () => clock });
  t.after(() => spool.close());
  const router = createRouter({
    ...sectionDefaults('routing'),
    rules: [
      { pattern: 'drop.**', type: 'null' },
      { pattern: '**', type: 'datadog', source: 'teleport' },
    ],
    unmatched: 'drop',
    hostname: 'h',
  });
  const ingest = ingestStats();
  const teleport = teleportStatus();
  const metrics = createMetrics(
    {
      spool: () => spool.stats(),
      router: () => router.stats(),
      ingest: () => ingest,
      teleport: () => teleport,
      version: '9.9.9',
      now: () => clock,
    },
    { maxTags: 100, sessionTagPrefix: 'session' },
  );

  let text = await metrics.render();
  assert.equal(sample(text, 'tdf_build_info', { version: '9.9.9' }), 1);
  assert.equal(sample(text, 'tdf_spool_records'), 0);
  assert.equal(sample(text, 'tdf_spool_max_bytes'), 10 * 1024 * 1024);
  assert.equal(sample(text, 'tdf_spool_oldest_record_age_seconds'), 0);
  assert.equal(sample(text, 'tdf_records_routed_total'), 0);
  assert.equal(sample(text, 'tdf_teleport_state', { state: 'running' }), 1);
  assert.equal(sample(text, 'tdf_teleport_state', { state: 'failed' }), 0);
  assert.equal(sample(text, 'tdf_teleport_export_lag_seconds'), undefined, 'no lag before any event');
  assert.equal(sample(text, 'tdf_teleport_cursor_date_timestamp_seconds'), Date.parse('2024-05-01T00:00:00Z') / 1000);
  assert.equal(
    sample(text, 'tdf_teleport_identity_expiry_timestamp_seconds'),
    Date.parse('2030-01-01T00:00:00Z') / 1000,
  );
  assert.ok(text.includes('# TYPE tdf_records_received_total counter'));
  assert.ok(text.includes('# TYPE tdf_spool_bytes gauge'));
  assert.ok(text.includes('# TYPE tdf_ingest_request_duration_seconds histogram'));
  // default process metrics
  assert.ok(sample(text, 'process_resident_memory_bytes')! > 0);
  assert.notEqual(sample(text, 'nodejs_eventloop_lag_seconds'), undefined);
  assert.notEqual(sample(text, 'process_cpu_seconds_total'), undefined);
  // no sink provider: no sink series
  assert.equal(sample(text, 'tdf_records_delivered_total'), undefined);

  // traffic: the way app.ts hands records over
  const records = [
    { tag: 'test.log', time: clock, record: { a: 1 } },
    { tag: 'test.log', time: clock, record: { a: 2 } },
    { tag: 'drop.me', time: clock, record: { a: 3 } },
  ];
  metrics.observeRecords('http', records);
  metrics.observeRecords('teleport', [
    { tag: 'events.log' },
    { tag: 'session.11111111-2222-3333-4444-555555555555.log' },
    { tag: 'session.66666666-7777-8888-9999-000000000000.log' },
    { tag: 'events.log' },
  ]);
  const values: string[] = [];
  for (const r of records) {
    const routed = router.route(r);
    if (routed.kind === 'send') values.push(routed.value);
  }
  await spool.append(values);
  metrics.observeSpooled(values.length);
  ingest.requests += 1;
  ingest.records += 3;
  ingest.status503 += 2;
  ingest.status5xx += 2;
  ingest.tlsFailed += 1;
  teleport.eventsEmitted = 42;
  teleport.sessionsActive = 2;
  teleport.sessionsPending = 5;
  teleport.locksUpserted = 1;
  teleport.lastEventTime = clock - 90_000;
  teleport.state = 'failed';
  clock += 60_000;

  text = await metrics.render();
  assert.equal(sample(text, 'tdf_records_received_total', { source: 'http', tag: 'test.log' }), 2);
  assert.equal(sample(text, 'tdf_records_received_total', { source: 'http', tag: 'drop.me' }), 1);
  assert.equal(sample(text, 'tdf_records_received_total', { source: 'teleport', tag: 'events.log' }), 2);
  assert.equal(sample(text, 'tdf_records_received_total', { source: 'teleport', tag: 'session.*.log' }), 2);
  assert.ok(!text.includes('11111111-2222'), 'no session id in any label');
  assert.equal(sample(text, 'tdf_records_routed_total'), 2);
  assert.equal(sample(text, 'tdf_records_dropped_total', { reason: 'null-rule' }), 1);
  assert.equal(sample(text, 'tdf_records_dropped_total', { reason: 'unmatched' }), 0);
  assert.equal(sample(text, 'tdf_records_spooled_total'), 2);
  assert.equal(sample(text, 'tdf_spool_records'), 2);
  assert.equal(sample(text, 'tdf_spool_bytes'), Buffer.byteLength(values.join('')));
  assert.equal(sample(text, 'tdf_spool_oldest_record_age_seconds'), 60);
  assert.equal(sample(text, 'tdf_ingest_requests_total'), 1);
  assert.equal(sample(text, 'tdf_ingest_overloaded_total'), 2);
  assert.equal(sample(text, 'tdf_ingest_errors_total', { class: '5xx' }), 2);
  assert.equal(sample(text, 'tdf_ingest_tls_failures_total', { reason: 'handshake' }), 1);
  assert.equal(sample(text, 'tdf_teleport_events_total'), 42);
  assert.equal(sample(text, 'tdf_teleport_sessions', { state: 'active' }), 2);
  assert.equal(sample(text, 'tdf_teleport_sessions', { state: 'pending' }), 5);
  assert.equal(sample(text, 'tdf_teleport_locks_upserted_total'), 1);
  assert.equal(sample(text, 'tdf_teleport_export_lag_seconds'), 150);
  assert.equal(sample(text, 'tdf_teleport_state', { state: 'failed' }), 1);
  assert.equal(sample(text, 'tdf_teleport_state', { state: 'running' }), 0);

  // a dead letter shows up in the spool gauges
  const taken = await spool.take(10, 1e6);
  await spool.deadLetter(taken.slice(0, 1), 'bad', 400);
  await spool.ack(taken.slice(1));
  text = await metrics.render();
  assert.equal(sample(text, 'tdf_spool_dead_letters'), 1);
  assert.equal(sample(text, 'tdf_spool_records'), 0);
  assert.equal(sample(text, 'tdf_spool_oldest_record_age_seconds'), 0);
});

test('tag labels are capped: past maxTags distinct tags the rest count as "other"', async () => {
  const metrics = createMetrics({}, { maxTags: 3, sessionTagPrefix: 'session', defaultMetrics: false });
  for (let i = 0; i < 10; i++) metrics.observeRecords('http', [{ tag: `t${i}.log` }, { tag: `t${i}.log` }]);
  metrics.observeRecords('http', [{ tag: 't0.log' }]);
  const text = await metrics.render();
  const tags = series(text, 'tdf_records_received_total')
    .map((l) => l.tag)
    .sort();
  assert.deepEqual(tags, ['other', 't0.log', 't1.log', 't2.log']);
  assert.equal(sample(text, 'tdf_records_received_total', { source: 'http', tag: 't0.log' }), 3);
  assert.equal(sample(text, 'tdf_records_received_total', { source: 'http', tag: 'other' }), 14);
});

test('records are counted request after request by source and tag, the same tag from both sources apart', async () => {
  const metrics = createMetrics({}, { sessionTagPrefix: 'session', defaultMetrics: false });
  // one record a request, as teleport-event-handler posts, with the poller's batches in between
  for (let i = 0; i < 5; i++) {
    metrics.observeRecords('http', [{ tag: 'test.log' }]);
    metrics.observeRecords('http', [{ tag: 'test.log' }]);
    metrics.observeRecords('teleport', [{ tag: 'test.log' }, { tag: 'events.log' }, { tag: 'test.log' }]);
    metrics.observeRecords('teleport', [{ tag: 'test.log' }]);
  }
  metrics.observeRecords('http', [{ tag: 'other.log' }]);
  metrics.observeRecords('http', [{ tag: 'test.log' }]);
  const text = await metrics.render();
  assert.equal(sample(text, 'tdf_records_received_total', { source: 'http', tag: 'test.log' }), 11);
  assert.equal(sample(text, 'tdf_records_received_total', { source: 'http', tag: 'other.log' }), 1);
  assert.equal(sample(text, 'tdf_records_received_total', { source: 'teleport', tag: 'test.log' }), 15);
  assert.equal(sample(text, 'tdf_records_received_total', { source: 'teleport', tag: 'events.log' }), 5);
});

test("session recordings' tags fold under the configured session-tag-prefix", async () => {
  const metrics = createMetrics({}, { sessionTagPrefix: 'rec', defaultMetrics: false });
  metrics.observeRecords('teleport', [{ tag: 'rec.my-session.log' }, { tag: 'rec.other-one.log' }]);
  const text = await metrics.render();
  assert.deepEqual(
    series(text, 'tdf_records_received_total').map((l) => l.tag),
    ['rec.*.log'],
  );
  assert.equal(sample(text, 'tdf_records_received_total', { source: 'teleport', tag: 'rec.*.log' }), 2);
});

test('latency hooks fill the histograms by status code', async () => {
  const metrics = createMetrics({}, { sessionTagPrefix: 'session', defaultMetrics: false });
  metrics.observeIngest(200, 0.004);
  metrics.observeIngest(200, 0.2);
  metrics.observeIngest(503, 0.001);
  metrics.observeDatadog(202, 0.3);
  metrics.observeDatadog(null, 30);
  const text = await metrics.render();
  assert.equal(sample(text, 'tdf_ingest_request_duration_seconds_count', { code: '200' }), 2);
  assert.equal(sample(text, 'tdf_ingest_request_duration_seconds_bucket', { code: '200', le: '0.005' }), 1);
  assert.equal(sample(text, 'tdf_ingest_request_duration_seconds_bucket', { code: '200', le: '0.25' }), 2);
  assert.equal(sample(text, 'tdf_ingest_request_duration_seconds_count', { code: '503' }), 1);
  assert.equal(sample(text, 'tdf_datadog_request_duration_seconds_count', { code: '202' }), 1);
  assert.equal(sample(text, 'tdf_datadog_request_duration_seconds_count', { code: 'none' }), 1);
  assert.equal(sample(text, 'tdf_datadog_request_duration_seconds_sum', { code: 'none' }), 30);
});

test('sink counters follow a real delivery to a Datadog-compatible intake', async (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  const intake = await startFakeIntake({ apiKeys: ['right-key-000000'] });
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 10 * 1024 * 1024 });
  const sink = createDatadogSink(
    { ...sectionDefaults('datadog'), apiKey: 'right-key-000000', url: intake.url, retryInitialMs: 5, retryMaxMs: 20 },
    { spool, logger: silentLogger },
  );
  t.after(async () => {
    await sink.stop(0);
    await spool.close();
    await intake.close();
  });
  const metrics = createMetrics(
    { spool: () => spool.stats(), sink: () => sink.status() },
    { sessionTagPrefix: 'session', defaultMetrics: false },
  );
  let text = await metrics.render();
  assert.equal(sample(text, 'tdf_records_delivered_total'), 0);
  assert.equal(sample(text, 'tdf_datadog_auth_failing'), 0);
  assert.equal(sample(text, 'tdf_datadog_retries_total', { class: '5xx' }), 0);

  intake.inject({ status: 500, times: 1 });
  await spool.append([JSON.stringify({ message: 'one' }), JSON.stringify({ message: 'two' })]);
  sink.start();
  await waitFor(() => sink.status().delivered === 2, 'delivery');
  text = await metrics.render();
  assert.equal(sample(text, 'tdf_records_delivered_total'), 2);
  assert.equal(sample(text, 'tdf_datadog_requests_total'), 2);
  assert.equal(sample(text, 'tdf_datadog_retries_total', { class: '5xx' }), 1);
  assert.equal(sample(text, 'tdf_spool_records'), 0);
});
