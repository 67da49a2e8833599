import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openSpool } from '../../src/spool/spool.js';
import type { DatadogSinkStatus } from '../../src/sinks/datadog/sink.js';
import { formatDuration } from '../../src/format.js';
import { healthReport, readVersion, scrub, statusDoc, type StatusSources } from '../../src/telemetry/status.js';
import { API_KEY, PASSPHRASE, ingestStats, teleportStatus, tempDir, testConfig } from './support.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const HOUR = 3600_000;

function sinkStatus(): DatadogSinkStatus {
  return {
    delivered: 0,
    deadLettered: 0,
    requests: 0,
    retries: { '4xx': 0, '429': 0, '5xx': 0, network: 0, other: 0 },
    authFailing: false,
    lastError: null,
    inFlightRequests: 0,
    stalled: null,
  };
}

test('status document: spool age warnings near and past the 18 h window, identity expiry, dead letters', async (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  let clock = Date.parse('2024-05-02T00:00:00Z');
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1024 * 1024, now: () => clock });
  t.after(() => spool.close());
  const config = testConfig(dir);
  const teleport = teleportStatus();
  const sink = sinkStatus();
  const ingest = ingestStats();
  const sources: StatusSources = {
    config,
    version: '0.0.1',
    startedAt: clock,
    now: () => clock,
    spool: () => spool.stats(),
    sink: () => sink,
    teleport: () => teleport,
    ingest: () => ingest,
    ingestAddress: () => ({ host: '0.0.0.0', port: 8888 }),
  };

  let doc = statusDoc(sources);
  assert.equal(doc.ready, true);
  assert.deepEqual(doc.warnings, []);
  assert.equal(doc.spool!.oldestAgeSeconds, null);
  assert.equal(doc.ingest!.address!.port, 8888);

  await spool.append([JSON.stringify({ message: 'old' })]);
  clock += 11 * HOUR;
  doc = statusDoc(sources);
  assert.equal(doc.spool!.oldestAgeSeconds, 11 * 3600);
  assert.deepEqual(doc.warnings, [], 'no warning under 12 h');
  assert.equal(doc.uptimeSeconds, 11 * 3600);

  clock += 2 * HOUR;
  doc = statusDoc(sources);
  assert.equal(doc.warnings.length, 1);
  assert.match(doc.warnings[0]!, /queued 13 h 0 m ago: Datadog does not index logs over 18 h old/);

  clock += 6 * HOUR;
  const [item] = await spool.take(1, 1e6);
  await spool.deadLetter([item!], 'HTTP 400', 400);
  await spool.append([JSON.stringify({ message: 'older' })]);
  clock += 19 * HOUR;
  teleport.identity = { file: '/id', user: 'bot', notAfter: new Date(clock + 3 * HOUR).toISOString() };
  teleport.lastEventTime = clock - 30_000;
  doc = statusDoc(sources);
  assert.equal(doc.deadLetters, 1);
  assert.ok(
    doc.warnings.some((w) => /past Datadog's 18 h window/.test(w)),
    doc.warnings.join('\n'),
  );
  assert.ok(doc.warnings.some((w) => /1 dead letter: .*spool ls --dead/.test(w)));
  assert.ok(doc.warnings.some((w) => /identity \/id expires in 3 h 0 m/.test(w)));
  assert.equal(doc.teleport!.exportLagSeconds, 30);
  assert.equal(doc.teleport!.identityExpiresInSeconds, 3 * 3600);
  assert.equal(doc.teleport!.lastEventAt, new Date(clock - 30_000).toISOString());
});

test('no secret reaches the document, even one echoed in an error text', async (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  const config = testConfig(dir, { 'datadog-url': 'http://user:pw@proxy.example:8080/base?token=abc' });
  const sink = sinkStatus();
  sink.authFailing = true;
  sink.lastError = { status: 403, message: `Forbidden: key ${API_KEY} is not valid`, at: 1 };
  const teleport = teleportStatus();
  teleport.lastError = `tls: cannot decrypt with ${PASSPHRASE}`;
  const sources: StatusSources = { config, version: 'v', startedAt: 0, sink: () => sink, teleport: () => teleport };
  const text = JSON.stringify(statusDoc(sources)) + JSON.stringify(healthReport(sources));
  assert.ok(!text.includes(API_KEY), 'api key scrubbed');
  assert.ok(!text.includes(PASSPHRASE), 'passphrase scrubbed');
  assert.ok(text.includes('[redacted]'));
  assert.ok(!text.includes('token=abc') && !text.includes('pw@'), 'url credentials and query dropped');
  const doc = statusDoc(sources);
  assert.equal(doc.config.datadog.url, 'http://proxy.example:8080/base');
  assert.equal(doc.config.datadog.apiKeySet, true);
  assert.equal(doc.config.datadog.apiKeyFrom, 'environment variable DD_API_KEY');
  assert.equal(doc.ready, false);
  assert.deepEqual(
    healthReport(sources)
      .checks.filter((c) => !c.ok)
      .map((c) => c.name)
      .sort(),
    ['datadog', 'ingest', 'spool'],
  );
});

test('readiness: stopping and not-started components fail their checks', (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  const config = testConfig(dir);
  let stopping = false;
  const teleport = teleportStatus();
  const sink = sinkStatus();
  const sources: StatusSources = {
    config,
    version: 'v',
    startedAt: 0,
    spool: () => ({ records: 0, bytes: 0, maxBytes: 1, inFlight: 0, deadLetters: 0, oldestAppendedAt: null }),
    sink: () => sink,
    teleport: () => teleport,
    ingestAddress: () => ({ host: '::', port: 1 }),
    stopping: () => stopping,
  };
  assert.equal(healthReport(sources).ready, true);
  teleport.lastError = 'unavailable: connection refused';
  // never reached teleport: degraded at once, but still ready (the ingest beside it takes events)
  const never = healthReport(sources);
  assert.equal(never.ready, true, 'a poller that cannot reach teleport does not fail readiness');
  assert.deepEqual(
    never.checks.find((c) => c.name === 'teleport'),
    {
      name: 'teleport',
      ok: true,
      state: 'degraded',
      detail: 'running, has not reached Teleport yet: unavailable: connection refused',
    },
  );
  teleport.lastSuccessAt = 1;
  const retrying = healthReport(sources);
  assert.equal(retrying.ready, true, 'a poller that retries is still ready');
  const check = retrying.checks.find((c) => c.name === 'teleport')!;
  assert.equal(check.state, 'ok', 'it has reached teleport before: a short failure is a retry');
  assert.match(check.detail, /retrying after: unavailable/);
  teleport.state = 'created';
  assert.equal(healthReport(sources).ready, false);
  teleport.state = 'running';
  sink.stalled = 'storage directory /s is corrupt (LevelDB: Corruption: block checksum mismatch)';
  const stalled = healthReport(sources);
  assert.equal(stalled.ready, false, 'a sink whose workers stopped on a damaged spool is not ready');
  assert.match(
    stalled.checks.find((c) => c.name === 'datadog')!.detail,
    /^delivery stopped: storage directory \/s is corrupt/,
  );
  sink.stalled = null;
  stopping = true;
  const report = healthReport(sources);
  assert.equal(report.ready, false);
  assert.equal(report.checks[0]!.name, 'shutdown');
});

test('helpers: durations, scrub, version', () => {
  assert.equal(formatDuration(42), '42 s');
  assert.equal(formatDuration(125), '2 m 5 s');
  assert.equal(formatDuration(13 * 3600 + 60), '13 h 1 m');
  assert.equal(formatDuration(3 * 86400 + 7200), '3 d 2 h');
  assert.deepEqual(scrub({ a: ['xx secret-value yy'], b: 1, c: null }, ['secret-value']), {
    a: ['xx [redacted] yy'],
    b: 1,
    c: null,
  });
  assert.match(readVersion(), /^\d+\.\d+\.\d+/);
});

test('a poller that reads nothing says so after a while; a short-lived identity that tbot renews does not warn', async (t) => {
  let clock = Date.parse('2024-05-02T00:00:00Z');
  const { dir, teleport, base, sources } = await pollerSources(t, () => clock);

  // the auth service went away 20 s ago: retrying, not yet worth a warning (a restart takes that long)
  teleport.lastSuccessAt = clock - 25_000;
  teleport.failingSince = clock - 20_000;
  teleport.lastError = '14 UNAVAILABLE: No connection established';
  let doc = statusDoc(sources);
  assert.deepEqual(doc.warnings, []);
  assert.match(doc.checks.find((c) => c.name === 'teleport')!.detail, /^running, retrying after: 14 UNAVAILABLE/);

  // past three poll intervals (16 s each) and a minute: a warning with since when and the last success
  clock += 60_000;
  doc = statusDoc(sources);
  assert.equal(doc.warnings.length, 1, doc.warnings.join('\n'));
  assert.match(
    doc.warnings[0]!,
    /^The Teleport poller has read nothing since 2024-05-01T23:59:40\.000Z \(1 m 20 s; the last call that succeeded was at 2024-05-01T23:59:35\.000Z\): 14 UNAVAILABLE/,
  );
  assert.match(
    doc.checks.find((c) => c.name === 'teleport')!.detail,
    /^running, reading nothing for 1 m 20 s after: 14 UNAVAILABLE/,
  );
  assert.equal(doc.checks.find((c) => c.name === 'teleport')!.state, 'degraded');
  assert.equal(doc.ready, true, 'the ingest beside it still takes events: not a readiness failure');

  // it answers again
  teleport.failingSince = null;
  teleport.lastError = null;
  teleport.lastSuccessAt = clock;
  assert.deepEqual(statusDoc(sources).warnings, []);

  // a 1 h certificate renewed by tbot every 20 min: with refresh on, 45 min left is normal
  teleport.identity = { file: '/id', user: 'bot', notAfter: new Date(clock + 45 * 60_000).toISOString() };
  const refreshing: StatusSources = {
    ...base,
    config: testConfig(dir, { 'ingest-enabled': false, 'teleport-refresh-enabled': true }),
  };
  assert.deepEqual(statusDoc(refreshing).warnings, []);
  teleport.identity.notAfter = new Date(clock + 20 * 60_000).toISOString();
  assert.match(statusDoc(refreshing).warnings.join('\n'), /identity \/id expires in 20 m 0 s/);
  // without refresh, the 24 h notice stays
  teleport.identity.notAfter = new Date(clock + 45 * 60_000).toISOString();
  assert.match(statusDoc(sources).warnings.join('\n'), /identity \/id expires in 45 m 0 s/);
});

test('quiet teleport streams are warnings naming them and when they are cancelled; past three, counted', async (t) => {
  const { teleport, sources } = await pollerSources(t, () => Date.parse('2024-05-02T00:00:00Z'));
  teleport.streamsOpen = 5;
  teleport.quietStreams = [
    { what: 'session recording s1', quietForMs: 600_000, started: false },
    { what: 'export chunk c1 of 2024-05-01', quietForMs: 90_000, started: true },
    { what: 'export chunk c2 of 2024-05-01', quietForMs: 70_000, started: true },
    { what: 'export chunk c3 of 2024-05-01', quietForMs: 61_000, started: true },
  ];
  teleport.streamsQuiet = 4;
  const w = statusDoc(sources).warnings;
  assert.equal(w.length, 4, w.join('\n'));
  assert.equal(
    w[0],
    'Teleport session recording s1 has sent nothing for 10 m 0 s with its connection up (nothing yet: the auth service may still be preparing it); it is cancelled and retried from its cursor after 20 m 0 s of silence (stream-idle-timeout).',
  );
  assert.match(
    w[1]!,
    /^Teleport export chunk c1 of 2024-05-01 has sent nothing for 1 m 30 s with its connection up; .* after 5 m 0 s of silence/,
  );
  assert.equal(w[3], '1 more Teleport stream has sent nothing for as long.');
  // the status lists at most ten: the count covers the rest
  teleport.streamsQuiet = 25;
  assert.equal(statusDoc(sources).warnings[3], '22 more Teleport streams have sent nothing for as long.');
  teleport.quietStreams = [];
  teleport.streamsQuiet = 0;
  assert.deepEqual(statusDoc(sources).warnings, []);
});

/** the status sources of a poller-only forwarder with a real spool, all read at now() */
async function pollerSources(t: TestContext, now: () => number) {
  const dir = tempDir('tdf-telemetry-', t);
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1024 * 1024, now });
  t.after(() => spool.close());
  const teleport = teleportStatus();
  const base = {
    version: '0.0.1',
    startedAt: now(),
    now,
    spool: () => spool.stats(),
    sink: () => sinkStatus(),
    teleport: () => teleport,
  };
  const sources: StatusSources = { ...base, config: testConfig(dir, { 'ingest-enabled': false }) };
  return { dir, teleport, base, sources };
}
