import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { openSpool } from '../../src/spool/spool.js';
import { ConfigError } from '../../src/errors.js';
import type { Spool } from '../../src/spool/types.js';
import { createRouter } from '../../src/router/router.js';
import { createDatadogSink } from '../../src/sinks/datadog/sink.js';
import { sectionDefaults } from '../../src/config/sections.js';
import { startFakeIntake } from '../../src/fakes/intake.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { createAdminServer, type AdminServer } from '../../src/telemetry/admin.js';
import {
  healthReport,
  statusDoc,
  type HealthReport,
  type StatusDoc,
  type StatusSources,
} from '../../src/telemetry/status.js';
import { API_KEY, PASSPHRASE, sample, silentLogger, teleportStatus, tempDir, testConfig, waitFor } from './support.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  port: number,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function startAdmin(t: TestContext, server: AdminServer): Promise<number> {
  const { port } = await server.start();
  t.after(() => server.close());
  return port;
}

test('endpoints: healthz, readyz, status, metrics, 404 and 405, over real http', async (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  const config = testConfig(dir, { 'dry-run': true });
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1024 * 1024 });
  let spoolOpen = true;
  t.after(async () => {
    if (spoolOpen) await spool.close();
  });
  const router = createRouter({
    ...sectionDefaults('routing'),
    rules: [{ pattern: '**', type: 'datadog' }],
    unmatched: 'drop',
    hostname: 'h',
  });
  const teleport = teleportStatus();
  const sources: StatusSources = {
    config,
    version: '1.2.3',
    startedAt: Date.now() - 5000,
    spool: () => (spoolOpen ? spool.stats() : undefined),
    router: () => router.stats(),
    ingestAddress: () => ({ host: '127.0.0.1', port: 8888 }),
    teleport: () => teleport,
  };
  const metrics = createMetrics(sources, { sessionTagPrefix: 'session' });
  const port = await startAdmin(
    t,
    createAdminServer(
      { host: '127.0.0.1', port: 0 },
      {
        metrics,
        health: () => healthReport(sources),
        status: () => statusDoc(sources),
        logger: silentLogger,
      },
    ),
  );

  const healthz = await request(port, 'GET', '/healthz');
  assert.equal(healthz.status, 200);
  assert.equal(healthz.body.trim(), 'ok');

  let ready = await request(port, 'GET', '/readyz');
  assert.equal(ready.status, 200, ready.body);
  const report = JSON.parse(ready.body) as HealthReport;
  assert.equal(report.ready, true);
  assert.deepEqual(
    report.checks.map((c) => c.name).sort(),
    ['ingest', 'spool', 'teleport'],
    'dry run: no datadog check',
  );

  const status = await request(port, 'GET', '/status');
  assert.equal(status.status, 200);
  assert.match(status.headers['content-type']!, /application\/json/);
  const doc = JSON.parse(status.body) as StatusDoc;
  assert.equal(doc.version, '1.2.3');
  assert.ok(doc.uptimeSeconds >= 5);
  assert.equal(doc.config.storage, dir);
  assert.equal(doc.config.datadog.apiKeySet, true);
  assert.equal(doc.spool!.records, 0);
  assert.equal(doc.teleport!.date, '2024-05-01');
  assert.ok(!status.body.includes(API_KEY) && !status.body.includes(PASSPHRASE), 'no secret in /status');

  await spool.append([JSON.stringify({ message: 'x' })]);
  const scraped = await request(port, 'GET', '/metrics');
  assert.equal(scraped.status, 200);
  assert.match(scraped.headers['content-type']!, /text\/plain/);
  assert.equal(sample(scraped.body, 'tdf_spool_records'), 1);
  assert.ok(!scraped.body.includes(API_KEY));

  assert.equal((await request(port, 'GET', '/nope')).status, 404);
  assert.equal((await request(port, 'GET', '/spool/dead')).status, 404, 'no spool endpoints without deps.spool');
  assert.equal((await request(port, 'POST', '/status')).status, 405);
  const head = await request(port, 'HEAD', '/healthz');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');

  // the poller failed: not ready, and the body says why
  teleport.state = 'failed';
  teleport.lastError = 'auth service unreachable: ECONNREFUSED';
  ready = await request(port, 'GET', '/readyz');
  assert.equal(ready.status, 503);
  const failed = (JSON.parse(ready.body) as HealthReport).checks.find((c) => c.name === 'teleport')!;
  assert.equal(failed.ok, false);
  assert.match(failed.detail, /failed: auth service unreachable/);
  teleport.state = 'running';

  // spool closed: not ready
  await spool.close();
  spoolOpen = false;
  ready = await request(port, 'GET', '/readyz');
  assert.equal(ready.status, 503);
  assert.equal((JSON.parse(ready.body) as HealthReport).checks.find((c) => c.name === 'spool')!.ok, false);
});

test('readyz flips to 503 while Datadog refuses the api key, and back once it accepts it', async (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  const config = testConfig(dir, { 'ingest-enabled': false, 'teleport-enabled': false });
  const intake = await startFakeIntake({ apiKeys: ['some-other-key-000'] });
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1024 * 1024 });
  const sink = createDatadogSink(
    {
      ...sectionDefaults('datadog'),
      apiKey: API_KEY,
      url: intake.url,
      authRetryMs: 20,
      retryInitialMs: 5,
      retryMaxMs: 20,
    },
    { spool, logger: silentLogger },
  );
  t.after(async () => {
    await sink.stop(0);
    await spool.close();
    await intake.close();
  });
  const sources: StatusSources = {
    config,
    version: 't',
    startedAt: Date.now(),
    spool: () => spool.stats(),
    sink: () => sink.status(),
  };
  const port = await startAdmin(
    t,
    createAdminServer(
      { host: '127.0.0.1', port: 0 },
      {
        metrics: createMetrics(sources, { sessionTagPrefix: 'session', defaultMetrics: false }),
        health: () => healthReport(sources),
        status: () => statusDoc(sources),
        logger: silentLogger,
      },
    ),
  );
  sink.start();
  assert.equal((await request(port, 'GET', '/readyz')).status, 200, 'nothing refused yet');

  await spool.append([JSON.stringify({ message: 'held' })]);
  const refused = await waitFor(async () => {
    const r = await request(port, 'GET', '/readyz');
    return r.status === 503 ? r : null;
  }, 'readyz 503');
  const report = JSON.parse(refused.body) as HealthReport;
  const check = report.checks.find((c) => c.name === 'datadog')!;
  assert.equal(check.ok, false);
  assert.match(check.detail, /refuses the api key/);
  assert.ok(!refused.body.includes(API_KEY));
  const metricsText = (await request(port, 'GET', '/metrics')).body;
  assert.equal(sample(metricsText, 'tdf_datadog_auth_failing'), 1);
  const doc = JSON.parse((await request(port, 'GET', '/status')).body) as StatusDoc;
  assert.equal(doc.ready, false);
  assert.ok(doc.warnings.some((w) => /refuses the API key/.test(w)));
  assert.equal(doc.lastErrors[0]!.component, 'datadog');
  assert.equal(doc.lastErrors[0]!.status, 403);

  intake.setApiKeys([API_KEY]);
  await waitFor(async () => (await request(port, 'GET', '/readyz')).status === 200, 'readyz 200 again');
  await waitFor(() => sink.status().delivered === 1, 'delivery after the key works');
  assert.equal(sample((await request(port, 'GET', '/metrics')).body, 'tdf_datadog_auth_failing'), 0);
});

async function withDeadLetters(t: TestContext, n: number): Promise<Spool> {
  const dir = tempDir('tdf-telemetry-', t);
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1024 * 1024 });
  t.after(() => spool.close());
  await spool.append(Array.from({ length: n }, (_, i) => JSON.stringify({ message: `log ${i}` })));
  const taken = await spool.take(n, 1e6);
  await spool.deadLetter(taken, 'HTTP 400: bad log', 400);
  return spool;
}

test('dead-letter endpoints: list, replay by id and all, purge; loopback and json only', async (t) => {
  const spool = await withDeadLetters(t, 4);
  const dir = tempDir('tdf-telemetry-', t);
  const config = testConfig(dir, { 'ingest-enabled': false, 'teleport-enabled': false, 'dry-run': true });
  const sources: StatusSources = { config, version: 't', startedAt: Date.now(), spool: () => spool.stats() };
  const logs: string[] = [];
  const logger = { ...silentLogger, info: (_o: object, msg: string) => void logs.push(msg) };
  const port = await startAdmin(
    t,
    createAdminServer(
      { host: '127.0.0.1', port: 0 },
      {
        health: () => healthReport(sources),
        status: () => statusDoc(sources),
        spool,
        logger,
      },
    ),
  );
  assert.equal((await request(port, 'GET', '/metrics')).status, 404, 'no metrics without deps.metrics');

  const list = await request(port, 'GET', '/spool/dead?limit=3');
  assert.equal(list.status, 200);
  const letters = (
    JSON.parse(list.body) as { deadLetters: Array<{ key: string; status: number; reason: string; value: string }> }
  ).deadLetters;
  assert.equal(letters.length, 3);
  assert.equal(letters[0]!.status, 400);
  assert.equal(letters[0]!.reason, 'HTTP 400: bad log');
  assert.equal(JSON.parse(letters[0]!.value).message, 'log 0');
  assert.equal((await request(port, 'GET', '/spool/dead?limit=0')).status, 400);

  const json = { 'content-type': 'application/json' };
  // a cross-site form post, a foreign host name (dns rebinding), a bad body
  assert.equal(
    (
      await request(port, 'POST', '/spool/dead/replay', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'ids=x',
      })
    ).status,
    415,
  );
  assert.equal(
    (
      await request(port, 'POST', '/spool/dead/purge', {
        headers: { ...json, host: 'attacker.example:80' },
        body: '{"before": 1e15}',
      })
    ).status,
    403,
  );
  assert.equal((await request(port, 'GET', '/spool/dead', { headers: { host: 'attacker.example' } })).status, 403);
  assert.equal(
    (await request(port, 'POST', '/spool/dead/replay', { headers: json, body: '{"ids": "nope"}' })).status,
    400,
  );
  assert.equal((await request(port, 'POST', '/spool/dead/purge', { headers: json, body: '{}' })).status, 400);
  assert.equal((await request(port, 'POST', '/spool/dead/purge', { headers: json, body: 'not json' })).status, 400);
  assert.equal(spool.stats().deadLetters, 4, 'refused requests changed nothing');

  const one = await request(port, 'POST', '/spool/dead/replay', {
    headers: { ...json, host: `localhost:${port}` },
    body: JSON.stringify({ ids: [letters[0]!.key] }),
  });
  assert.equal(one.status, 200, one.body);
  assert.deepEqual(JSON.parse(one.body), { replayed: 1 });
  assert.equal(spool.stats().deadLetters, 3);
  assert.equal(spool.stats().records, 1);
  assert.ok(logs.some((m) => /moved back to the queue/.test(m)));

  const purged = await request(port, 'POST', '/spool/dead/purge', {
    headers: json,
    body: JSON.stringify({ before: 0 }),
  });
  assert.deepEqual(JSON.parse(purged.body), { purged: 0 }, 'nothing dead-lettered before 1970');
  const rest = await request(port, 'POST', '/spool/dead/replay', { headers: json, body: '{}' });
  assert.deepEqual(JSON.parse(rest.body), { replayed: 3 });
  assert.equal(spool.stats().deadLetters, 0);
  assert.equal(spool.stats().records, 4);
});

test('start fails with a clear error when the port is taken; close is idempotent', async (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  const config = testConfig(dir, { 'ingest-enabled': false, 'teleport-enabled': false, 'dry-run': true });
  const sources: StatusSources = { config, version: 't', startedAt: Date.now() };
  const deps = { health: () => healthReport(sources), status: () => statusDoc(sources), logger: silentLogger };
  const first = createAdminServer({ host: '127.0.0.1', port: 0 }, deps);
  const port = await startAdmin(t, first);
  const second = createAdminServer({ host: '127.0.0.1', port }, deps);
  await assert.rejects(second.start(), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TDF_CONFIG');
    assert.match(err.message, /admin server cannot listen on 127\.0\.0\.1:\d+: the address is in use/);
    assert.match(err.message, /admin\.port/);
    return true;
  });
  await second.close();
  // a spool not open: /readyz says so
  const ready = await request(port, 'GET', '/readyz');
  assert.equal(ready.status, 503);
  await first.close();
  await first.close();
});

test('backfill and cursor endpoints: loopback and json only; a refused request is a 409 with its reason', async (t) => {
  const calls: string[] = [];
  const server = createAdminServer(
    { host: '127.0.0.1', port: 0 },
    {
      health: () => ({ ready: true, checks: [] }),
      status: () => ({}) as StatusDoc,
      logger: silentLogger,
      backfill: {
        list: async () => [{ id: 'bf-1' }],
        async submit(body, planOnly) {
          calls.push(`submit ${planOnly} ${String(body.from)}`);
          if (body.from === 0) throw new ConfigError('the range was shipped by the live poller already');
          return { plan: {}, job: { id: 'bf-2' } };
        },
        cancel: async (id) => ({ id, state: 'cancelled' }),
        cursor: async () => ({ startTime: 'x' }),
        moveCursor: async (to, apply) => ({ move: { to }, applied: apply }),
      },
    },
  );
  const port = await startAdmin(t, server);
  const json = { 'content-type': 'application/json' };
  assert.deepEqual(JSON.parse((await request(port, 'GET', '/backfill')).body), { jobs: [{ id: 'bf-1' }] });
  const ok = await request(port, 'POST', '/backfill', { headers: json, body: '{"from":1,"to":2,"plan":true}' });
  assert.equal(ok.status, 200);
  const refused = await request(port, 'POST', '/backfill', { headers: json, body: '{"from":0,"to":2}' });
  assert.equal(refused.status, 409);
  assert.match(refused.body, /shipped by the live poller/);
  assert.deepEqual(calls, ['submit true 1', 'submit false 0']);
  const cancel = await request(port, 'POST', '/backfill/cancel', { headers: json, body: '{"id":"bf-1"}' });
  assert.equal(JSON.parse(cancel.body).job.state, 'cancelled');
  assert.equal((await request(port, 'POST', '/backfill/cancel', { headers: json, body: '{}' })).status, 400);
  const move = await request(port, 'POST', '/cursor', { headers: json, body: '{"startTime":5,"apply":true}' });
  assert.deepEqual(JSON.parse(move.body), { move: { to: 5 }, applied: true });
  assert.equal((await request(port, 'POST', '/cursor', { headers: json, body: '{"startTime":"x"}' })).status, 400);
  // a page elsewhere cannot reach them: another Host, or a form without a json type
  assert.equal((await request(port, 'GET', '/cursor', { headers: { host: 'attacker.example' } })).status, 403);
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  assert.equal((await request(port, 'POST', '/backfill', { headers: form, body: 'from=1' })).status, 415);
  assert.equal(calls.length, 2, 'neither reached the api');
});
