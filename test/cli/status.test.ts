import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openSpool } from '../../src/spool/spool.js';
import { createAdminServer } from '../../src/telemetry/admin.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { healthReport, statusDoc, type StatusDoc, type StatusSources } from '../../src/telemetry/status.js';
import { renderDiskStatus, renderStatus, runStatus, teleportState, type DiskStatus } from '../../src/cli/status.js';
import type { DatadogSinkStatus } from '../../src/sinks/datadog/sink.js';
import {
  API_KEY,
  capture,
  ingestStats,
  silentLogger,
  teleportStatus,
  tempDir,
  testConfig,
} from '../telemetry/support.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const HOUR = 3600_000;

/** a port nothing listens on: bound once, then released */
async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function sinkStatus(over: Partial<DatadogSinkStatus> = {}): DatadogSinkStatus {
  return {
    delivered: 120,
    deadLettered: 1,
    requests: 7,
    retries: { '4xx': 0, '429': 2, '5xx': 1, network: 0, other: 0 },
    authFailing: false,
    lastError: null,
    inFlightRequests: 1,
    stalled: null,
    ...over,
  };
}

function docFor(t: TestContext, over: { sink?: DatadogSinkStatus; oldestAgeHours?: number } = {}): StatusDoc {
  const now = Date.parse('2024-05-02T00:00:00Z');
  const teleport = teleportStatus();
  teleport.lastEventTime = now - 12_000;
  teleport.caughtUp = true;
  teleport.eventsEmitted = 500;
  teleport.lastError = 'unavailable: \u001b[31mred\u001b[0m';
  teleport.lastSuccessAt = now - 5000;
  const sources: StatusSources = {
    config: testConfig(tempDir('tdf-telemetry-', t)),
    version: '1.0.0',
    startedAt: now - 3 * HOUR,
    now: () => now,
    spool: () => ({
      records: 10,
      bytes: 2048,
      maxBytes: 1024 * 1024,
      inFlight: 3,
      deadLetters: 2,
      oldestAppendedAt: now - (over.oldestAgeHours ?? 1) * HOUR,
    }),
    sink: () => over.sink ?? sinkStatus(),
    teleport: () => teleport,
    ingest: () => ({ ...ingestStats(), requests: 9, records: 40 }),
    ingestAddress: () => ({ host: '0.0.0.0', port: 8888 }),
  };
  return statusDoc(sources);
}

test('renderStatus: a readable summary of the live document (pure)', (t) => {
  const text = renderStatus(docFor(t), { url: 'http://127.0.0.1:8889' });
  assert.match(text, /^teleport-datadog-forwarder 1\.0\.0 \(pid \d+\), up 3 h 0 m: ready\n/);
  assert.match(text, /admin API: http:\/\/127\.0\.0\.1:8889/);
  assert.match(text, /ok {4}spool/);
  assert.match(text, /spool: 10 records, 2\.0 KiB of 1\.0 MiB \(0%\), 3 in flight; oldest queued 1 h 0 m ago/);
  assert.match(text, /dead letters: 2/);
  assert.match(text, /teleport: running \(export\), cursor on 2024-05-01, caught up; 500 events/);
  assert.match(text, /last event 2024-05-01T23:59:48\.000Z \(lag 12 s\)/);
  assert.match(text, /identity \/var\/lib\/teleport\/identity \(bot-forwarder\): expires in \d+ d/);
  assert.match(
    text,
    /datadog: 120 delivered, 1 dead-lettered, 7 requests \(1 in flight\); retries 4xx 0, 429 2, 5xx 1/,
  );
  assert.match(text, /ingest: listening on 0\.0\.0\.0:8888; 9 requests, 40 records/);
  assert.match(text, /last errors:\n {2}teleport: unavailable: \\u001b\[31mred/, 'control characters are escaped');
  assert.ok(!text.includes('\u001b'));
  assert.match(text, /warnings:\n {2}! 2 dead letters/);

  const late = renderStatus(
    docFor(t, {
      oldestAgeHours: 13,
      sink: sinkStatus({
        authFailing: true,
        lastError: { status: 403, message: 'Forbidden', at: Date.parse('2024-05-01T23:00:00Z') },
      }),
    }),
  );
  assert.match(late, /: NOT READY\n/);
  assert.match(late, /FAIL {2}datadog/);
  assert.match(late, /API KEY REFUSED/);
  assert.match(late, /datadog \(403\) at 2024-05-01T23:00:00\.000Z: Forbidden/);
  assert.match(
    late,
    /! The oldest undelivered record was queued 13 h 0 m ago: Datadog does not index logs over 18 h old/,
  );
});

test('renderDiskStatus and teleportState: what the storage directory holds (pure)', () => {
  const state = teleportState([
    { key: 'teleport/start-time', value: '2024-04-01T00:00:00.000Z' },
    { key: 'teleport/export/date', value: '2024-05-01' },
    { key: 'teleport/export/chunk/2024-04-30/a', value: '{"done":true}' },
    { key: 'teleport/export/chunk/2024-05-01/a', value: '{"done":true}' },
    { key: 'teleport/export/chunk/2024-05-01/b', value: '{"c":"cursor"}' },
    { key: 'teleport/session/s1', value: '{"i":3,"t":1}' },
    { key: 'teleport/session/s2', value: '{"i":0,"t":1}' },
  ])!;
  assert.deepEqual(state, {
    startTime: '2024-04-01T00:00:00.000Z',
    exportDate: '2024-05-01',
    chunksDone: 1,
    chunksInProgress: 1,
    legacy: null,
    sessionsPending: 2,
  });
  assert.equal(teleportState([]), null);
  const legacy = teleportState([
    {
      key: 'teleport/legacy/cursor',
      value: JSON.stringify({ w: Date.parse('2024-05-01T00:00:00Z'), k: 'k', id: 'ev-9' }),
    },
  ])!;
  assert.deepEqual(legacy.legacy, { windowStart: '2024-05-01T00:00:00.000Z', lastEventId: 'ev-9' });

  const disk: DiskStatus = {
    source: 'storage',
    storage: '/data',
    now: '2024-05-02T00:00:00.000Z',
    adminApi: 'admin API at http://127.0.0.1:8889 unreachable (ECONNREFUSED)',
    spool: {
      records: 3,
      bytes: 300,
      maxBytes: 1024,
      inFlight: 0,
      deadLetters: 1,
      oldestAppendedAt: 0,
      oldestAgeSeconds: 19 * 3600,
    },
    teleport: state,
    warnings: ["The oldest undelivered record was queued 19 h 0 m ago, past Datadog's 18 h window"],
  };
  const text = renderDiskStatus(disk);
  assert.match(
    text,
    /^the forwarder is not running: admin API at http:\/\/127\.0\.0\.1:8889 unreachable \(ECONNREFUSED\), and storage \/data is not locked/,
  );
  assert.match(text, /spool: 3 records, 300 B of 1\.0 KiB \(29%\), 0 in flight; oldest queued 19 h 0 m ago/);
  assert.match(text, /dead letters: 1/);
  assert.match(
    text,
    /teleport: start time 2024-04-01T00:00:00\.000Z; export cursor on 2024-05-01 \(1 chunks done, 1 in progress\); 2 session recordings still to stream/,
  );
  assert.match(text, /! The oldest undelivered record was queued 19 h 0 m ago, past/);
});

test("runStatus asks the running forwarder's admin api", async (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1024 * 1024 });
  t.after(() => spool.close());
  await spool.append([JSON.stringify({ message: 'a' }), JSON.stringify({ message: 'b' })]);
  const config = testConfig(dir, { 'dry-run': true, 'ingest-enabled': false, 'teleport-enabled': false });
  const sources: StatusSources = { config, version: '2.0.0', startedAt: Date.now(), spool: () => spool.stats() };
  const admin = createAdminServer(
    { host: '127.0.0.1', port: 0 },
    {
      metrics: createMetrics(sources, { sessionTagPrefix: 'session', defaultMetrics: false }),
      health: () => healthReport(sources),
      status: () => statusDoc(sources),
      logger: silentLogger,
    },
  );
  const { port } = await admin.start();
  t.after(() => admin.close());

  const out = capture();
  const flags = { storage: dir, 'admin-port': port };
  assert.equal(await runStatus({ flags, env: {}, out }), 0);
  assert.match(out.text(), /teleport-datadog-forwarder 2\.0\.0 .*: ready/);
  assert.match(out.text(), /spool: 2 records/);
  assert.match(out.text(), /datadog: dry run/);

  const json = capture();
  assert.equal(
    await runStatus({ flags: { storage: dir }, env: {}, url: `127.0.0.1:${port}/status`, out: json, json: true }),
    0,
  );
  const doc = JSON.parse(json.text()) as StatusDoc;
  assert.equal(doc.spool!.records, 2);
  assert.ok(!json.text().includes(API_KEY));

  // a forwarder on another storage directory is named
  const other = capture();
  await runStatus({ flags: { storage: tempDir('tdf-telemetry-', t), 'admin-port': port }, env: {}, out: other });
  assert.match(other.text(), /note: this forwarder uses storage /);
});

test('runStatus falls back to the storage directory when the forwarder is not running', async (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  const spool = await openSpool({
    syncIntervalMs: SYNC_MS,
    path: dir,
    maxBytes: 1024 * 1024,
    now: () => Date.now() - 13 * HOUR,
  });
  await spool.append(
    [JSON.stringify({ message: 'a' })],
    [
      { type: 'put', key: 'teleport/export/date', value: '2024-05-01' },
      { type: 'put', key: 'teleport/session/abc', value: '{"i":1,"t":1}' },
    ],
  );
  const [item] = await spool.take(1, 1e6);
  await spool.deadLetter([item!], 'HTTP 400', 400);
  await spool.append([JSON.stringify({ message: 'b' })]);
  await spool.close();

  const port = await freePort();
  const out = capture();
  assert.equal(await runStatus({ flags: { storage: dir, 'admin-port': port }, env: {}, out }), 0);
  const text = out.text();
  assert.match(
    text,
    new RegExp(
      `the forwarder is not running: admin API at http://127\\.0\\.0\\.1:${port} unreachable \\(ECONNREFUSED\\)`,
    ),
  );
  assert.match(text, /spool: 1 records, .*oldest queued 13 h 0 m ago/);
  assert.match(text, /dead letters: 1/);
  assert.match(text, /export cursor on 2024-05-01 \(0 chunks done, 0 in progress\); 1 session recordings/);
  assert.match(text, /! The oldest undelivered record was queued 13 h/);

  const json = capture();
  await runStatus({ flags: { storage: dir, 'admin-enabled': false }, env: {}, out: json, json: true });
  const disk = JSON.parse(json.text()) as DiskStatus;
  assert.equal(disk.source, 'storage');
  assert.equal(disk.spool.records, 1);
  assert.equal(disk.adminApi, 'admin API disabled (admin.enabled = false)');
});

test('runStatus: running but admin unreachable, and nothing to read, are errors that say so', async (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1024 * 1024 });
  const port = await freePort();
  try {
    await assert.rejects(
      runStatus({ flags: { storage: dir, 'admin-port': port }, env: {}, out: capture() }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TDF_STORAGE');
        assert.match(
          err.message,
          new RegExp(
            `the forwarder is running with storage ${dir} \\(LevelDB lock held\\), but its admin API at http://127\\.0\\.0\\.1:${port} unreachable`,
          ),
        );
        assert.match(err.message, /pass --url/);
        return true;
      },
    );
  } finally {
    await spool.close();
  }
  const empty = tempDir('tdf-telemetry-', t);
  await assert.rejects(
    runStatus({ flags: { storage: `${empty}/none`, 'admin-port': port }, env: {}, out: capture() }),
    /nothing to read: .*there is no spool in/,
  );
});
