// the Config follows from the schema: every row lands in one section under one field, with its default, and the
// field the type derives from a row is the one the loader fills in
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { hostname } from 'node:os';
import { SETTINGS, type SettingRow } from '../../src/config/schema.js';
import {
  fieldOf,
  sectionDefaults,
  sectionOf,
  SECTIONS,
  type FieldOf,
  type SectionOf,
} from '../../src/config/sections.js';
import { loadConfig } from '../../src/config/load.js';

// checked twice: by the compiler against the types (a wrong section or field does not build) and below against
// what the loader does at run time
const PLACES: { [R in SettingRow as R['key']]: [SectionOf<R>, FieldOf<R>] } = {
  storage: ['top', 'storage'],
  hostname: ['top', 'hostname'],
  'log-level': ['top', 'logLevel'],
  debug: ['top', 'debug'],
  'dry-run': ['top', 'dryRun'],
  'exit-on-last-event': ['top', 'exitOnLastEvent'],
  'ingest.enabled': ['ingest', 'enabled'],
  'ingest.host': ['ingest', 'host'],
  'ingest.port': ['ingest', 'port'],
  'ingest.ca': ['ingest', 'ca'],
  'ingest.cert': ['ingest', 'cert'],
  'ingest.key': ['ingest', 'key'],
  'ingest.key-passphrase': ['ingest', 'keyPassphrase'],
  'ingest.key-passphrase-file': ['ingest', 'keyPassphraseFile'],
  'ingest.body-limit': ['ingest', 'bodyLimit'],
  'ingest.max-decompressed': ['ingest', 'maxDecompressed'],
  'ingest.request-timeout': ['ingest', 'requestTimeoutMs'],
  'ingest.max-records': ['ingest', 'maxRecords'],
  'ingest.ack': ['ingest', 'ack'],
  'ingest.sync-interval': ['ingest', 'syncIntervalMs'],
  'ingest.retry-after': ['ingest', 'retryAfterMs'],
  'datadog.site': ['datadog', 'site'],
  'datadog.url': ['datadog', 'url'],
  'datadog.api-key': ['datadog', 'apiKey'],
  'datadog.api-key-file': ['datadog', 'apiKeyFile'],
  'datadog.concurrency': ['datadog', 'concurrency'],
  'datadog.batch-max-entries': ['datadog', 'batchMaxEntries'],
  'datadog.batch-max-bytes': ['datadog', 'batchMaxBytes'],
  'datadog.batch-wait': ['datadog', 'batchWaitMs'],
  'datadog.timeout': ['datadog', 'timeoutMs'],
  'datadog.compression': ['datadog', 'compression'],
  'datadog.compression-level': ['datadog', 'compressionLevel'],
  'datadog.retry-initial': ['datadog', 'retryInitialMs'],
  'datadog.retry-max': ['datadog', 'retryMaxMs'],
  'datadog.auth-retry': ['datadog', 'authRetryMs'],
  'datadog.ca-file': ['datadog', 'caFile'],
  'admin.enabled': ['admin', 'enabled'],
  'admin.host': ['admin', 'host'],
  'admin.port': ['admin', 'port'],
  'spool.max-bytes': ['spool', 'maxBytes'],
  'runtime.heap-growing-percent': ['runtime', 'heapGrowingPercent'],
  'routing.unmatched': ['routing', 'unmatched'],
  'routing.old-timestamps': ['routing', 'oldTimestamps'],
  'routing.max-age': ['routing', 'maxAgeMs'],
  'teleport.enabled': ['teleport', 'enabled'],
  'teleport.addr': ['teleport', 'addr'],
  'teleport.identity': ['teleport', 'identity'],
  'teleport.refresh.enabled': ['teleport', 'refreshEnabled'],
  'teleport.refresh.interval': ['teleport', 'refreshIntervalMs'],
  'teleport.ca': ['teleport', 'ca'],
  'teleport.cert': ['teleport', 'cert'],
  'teleport.key': ['teleport', 'key'],
  'teleport.server-name': ['teleport', 'serverName'],
  'teleport.mode': ['teleport', 'mode'],
  'teleport.cluster-name': ['teleport', 'clusterName'],
  'start-time': ['teleport', 'startTime'],
  batch: ['teleport', 'batch'],
  'window-size': ['teleport', 'windowSizeMs'],
  types: ['teleport', 'types'],
  'skip-event-types': ['teleport', 'skipEventTypes'],
  'skip-session-types': ['teleport', 'skipSessionTypes'],
  concurrency: ['teleport', 'concurrency'],
  timeout: ['teleport', 'timeoutMs'],
  'poll-interval': ['teleport', 'pollIntervalMs'],
  'stream-idle-timeout': ['teleport', 'streamIdleTimeoutMs'],
  'events-tag': ['teleport', 'eventsTag'],
  'session-tag-prefix': ['teleport', 'sessionTagPrefix'],
  'lock.enabled': ['teleport', 'lockEnabled'],
  'lock.failed-attempts-count': ['teleport', 'lockFailedAttemptsCount'],
  'lock.period': ['teleport', 'lockPeriodMs'],
  'lock.for': ['teleport', 'lockForMs'],
  'forward.fluentd.url': ['forward', 'fluentdUrl'],
  'forward.fluentd.session-url': ['forward', 'fluentdSessionUrl'],
  'forward.fluentd.ca': ['forward', 'fluentdCa'],
  'forward.fluentd.cert': ['forward', 'fluentdCert'],
  'forward.fluentd.key': ['forward', 'fluentdKey'],
  'forward.fluentd.max-connections': ['forward', 'fluentdMaxConnections'],
};

test('each row lands where its type says: section from the key (or the row), field in camelCase, Ms on durations', () => {
  assert.deepEqual(
    Object.keys(PLACES),
    SETTINGS.map((s) => s.key),
    'the table lists every row, in order',
  );
  for (const s of SETTINGS) {
    assert.deepEqual([sectionOf(s), fieldOf(s)], PLACES[s.key as SettingRow['key']], s.key);
  }
});

test('no two rows land on one field', () => {
  const seen = new Map<string, string>();
  for (const s of SETTINGS) {
    const place = `${sectionOf(s)}.${fieldOf(s)}`;
    assert.equal(seen.get(place), undefined, `${s.key} and ${seen.get(place)} both land on ${place}`);
    seen.set(place, s.key);
  }
});

// values the loader computes from several settings rather than reading one row
const COMPUTED: Record<string, string> = {
  'ingest.enabled': 'inferred from ingest.ca, cert and key when not set',
  hostname: "this machine's host name when not set",
};

test('every row is in the loaded Config with its default, or unset when it has none', () => {
  const cwd = '/srv/tdf';
  const config = loadConfig({ env: {}, partial: true, cwd }) as unknown as Record<string, Record<string, unknown>>;
  for (const s of SETTINGS) {
    const section = sectionOf(s) === 'top' ? config : config[sectionOf(s)]!;
    const field = fieldOf(s);
    assert.ok(field in section, `${s.key}: no field ${field}`);
    if (COMPUTED[s.key]) continue;
    const expected = s.type === 'path' && typeof s.default === 'string' ? resolve(cwd, s.default) : s.default;
    assert.deepEqual(section[field], expected, s.key);
  }
  assert.equal(config.ingest!.enabled, false, COMPUTED['ingest.enabled']);
  assert.equal(config.hostname, hostname(), COMPUTED.hostname);
});

test('a value given lands in its field, whatever section its key names', () => {
  const config = loadConfig({
    env: {},
    partial: true,
    flags: { 'ingest-request-timeout': '5s', 'lock-period': '2m', 'teleport-refresh-enabled': true, batch: 7 },
  });
  assert.equal(config.ingest.requestTimeoutMs, 5000);
  assert.equal(config.teleport.lockPeriodMs, 120_000);
  assert.equal(config.teleport.refreshEnabled, true);
  assert.equal(config.teleport.batch, 7);
});

test('sectionDefaults is the loaded Config of a section with nothing set', () => {
  const config = loadConfig({ env: {}, partial: true }) as unknown as Record<string, Record<string, unknown>>;
  for (const section of SECTIONS) {
    const defaults = sectionDefaults(section) as Record<string, unknown>;
    for (const [field, value] of Object.entries(defaults)) {
      if (section === 'ingest' && field === 'enabled') continue; // inferred: see above
      assert.deepEqual(config[section]![field], value, `${section}.${field}`);
    }
  }
  assert.deepEqual(sectionDefaults('datadog'), {
    site: 'datadoghq.com',
    concurrency: 4,
    batchMaxEntries: 1000,
    batchMaxBytes: 4_900_000,
    batchWaitMs: 200,
    timeoutMs: 30_000,
    compression: 'gzip',
    compressionLevel: 6,
    retryInitialMs: 500,
    retryMaxMs: 60_000,
    authRetryMs: 30_000,
  });
  // a copy each time: a test that changes its defaults changes no other's
  const a = sectionDefaults('teleport');
  a.skipSessionTypes.push('x');
  assert.deepEqual(sectionDefaults('teleport').skipSessionTypes, ['print']);
});

test("the poller's bounds are the schema's: a zero duration or count is refused where it was given", () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ timeout: '0s' }, /flag --timeout: expected a duration from 1 ms/],
    [{ 'window-size': '0s' }, /flag --window-size: expected a duration from 1 ms/],
    [{ 'poll-interval': '0s' }, /flag --poll-interval: expected a duration from 1 ms/],
    [{ 'stream-idle-timeout': '0s' }, /flag --stream-idle-timeout: expected a duration from 1 ms/],
    [{ 'teleport-refresh-interval': '0s' }, /flag --teleport-refresh-interval: expected a duration from 1 ms/],
    [{ 'lock-period': '0s' }, /flag --lock-period: expected a duration from 1 ms/],
    [{ concurrency: 0 }, /flag --concurrency: expected a whole number from 1 to 256/],
    [{ batch: 0 }, /flag --batch: expected a whole number from 1 to 10000/],
    [{ 'lock-failed-attempts-count': 0 }, /flag --lock-failed-attempts-count: expected a whole number from 1/],
  ];
  for (const [flags, re] of cases) {
    assert.throws(() => loadConfig({ env: {}, partial: true, flags }), re, JSON.stringify(flags));
  }
  assert.equal(loadConfig({ env: {}, partial: true, flags: { 'lock-for': '0s' } }).teleport.lockForMs, 0);
});
