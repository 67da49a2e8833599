// the sink against a misbehaving fake intake: error storms, rate limits, refused keys, poison, 413, resets, outages,
// and stop() with work in flight. real http, real spool on disk; assertions are about order and outcomes.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeIntake, type FakeIntake, type FakeIntakeOptions } from '../../../src/fakes/intake.js';
import { createDatadogSink, type DatadogSink, type DatadogSinkOptions } from '../../../src/sinks/datadog/sink.js';
import { sectionDefaults } from '../../../src/config/sections.js';
import type { Spool } from '../../../src/spool/types.js';
import {
  auditLog,
  auditLogs,
  expectedIds,
  receivedIds,
  recordingLogger,
  tempSpool,
  waitFor,
  type RecordingLogger,
} from './support.js';

const KEY = 'sekret-key-7f3a9c';

interface Setup {
  intake: FakeIntake;
  spool: Spool;
  logger: RecordingLogger;
  sink: DatadogSink;
  events: unknown[];
  reopen: () => Promise<Spool>;
}

async function setup(
  t: TestContext,
  options: Partial<DatadogSinkOptions> = {},
  intakeOptions: FakeIntakeOptions = {},
  random?: () => number,
): Promise<Setup> {
  const events: unknown[] = [];
  const intake = await startFakeIntake({
    apiKeys: [KEY],
    onLogs: (logs) => events.push({ source: 'intake', ids: logs.map((l) => l.id) }),
    ...intakeOptions,
  });
  const store = await tempSpool(t);
  const logger = recordingLogger(events);
  const sink = createDatadogSink(
    {
      ...sectionDefaults('datadog'),
      apiKey: KEY,
      url: intake.url,
      retryInitialMs: 10,
      retryMaxMs: 100,
      authRetryMs: 50,
      ...options,
    },
    { spool: store.spool, logger, ...(random === undefined ? {} : { random }) },
  );
  t.after(async () => {
    await sink.stop(0);
    await intake.close();
  });
  return { intake, spool: store.spool, logger, sink, events, reopen: store.reopen };
}

function assertExactlyOnce(intake: FakeIntake, ids: string[]): void {
  const got = receivedIds(intake.logs);
  assert.equal(got.length, ids.length, 'no duplicates, nothing missing');
  assert.deepEqual([...got].sort(), [...ids].sort());
}

test('a 500 storm is retried until the intake recovers: nothing lost, nothing duplicated', async (t) => {
  // one request at a time: with several, which failed answer lands last (lastError) is a race
  const { intake, spool, sink } = await setup(t, { batchMaxEntries: 100, concurrency: 1 });
  intake.inject({ status: 500, times: 4 });
  intake.inject({ status: 503, times: 2, headers: { 'retry-after': '0' } });
  await spool.append(auditLogs(0, 300));
  sink.start();
  await waitFor(() => sink.status().delivered === 300, 'all delivered');
  assertExactlyOnce(intake, expectedIds(0, 300));
  assert.equal(sink.status().retries['5xx'], 6, 'one retry per 5xx answer');
  assert.equal(intake.history.filter((r) => r.status === 500 || r.status === 503).length, 6);
  assert.equal(sink.status().lastError?.status, 503);
  assert.equal(spool.stats().records, 0);
});

test('a 429 with a rate-limit reset is honoured: the same batch is sent again only after the wait', async (t) => {
  // random 0: no jitter on top of the hint, so the decided delay is exactly the reset
  const { intake, spool, sink, logger, events } = await setup(t, { concurrency: 1, batchMaxEntries: 20 }, {}, () => 0);
  intake.inject({
    status: 429,
    times: 1,
    headers: {
      'x-ratelimit-limit': '10',
      'x-ratelimit-period': '10',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '1',
    },
  });
  await spool.append(auditLogs(0, 20));
  sink.start();
  await waitFor(() => sink.status().delivered === 20, 'all delivered');
  assertExactlyOnce(intake, expectedIds(0, 20));

  // order of events: 429 -> retry decided with the reset as delay -> the same 20 logs accepted
  assert.deepEqual(
    intake.history.map((r) => [r.status, r.entries]),
    [
      [429, 20],
      [202, 20],
    ],
  );
  const order = events
    .map((e) => e as { source: string; level?: string; obj?: Record<string, unknown> })
    .filter((e) => e.source === 'intake' || e.level === 'warn')
    .map((e) =>
      e.source === 'intake' ? 'accepted' : `retry ${String(e.obj!.retryClass)} in ${String(e.obj!.retryInMs)} ms`,
    );
  assert.deepEqual(order, ['retry 429 in 1000 ms', 'accepted']);
  const warn = logger.lines.find((l) => l.level === 'warn')!;
  assert.equal(warn.obj.hintMs, 1000);
  // a lower bound only (a slow machine can only make it longer): the wait did happen
  assert.ok(intake.history[1]!.at - intake.history[0]!.at >= 900, 'waited for the reset');
  assert.equal(sink.status().retries['429'], 1);
  assert.equal(spool.stats().records, 0);
});

test('a refused api key (403, then 401) holds delivery without dropping; a restored key resumes it', async (t) => {
  const { intake, spool, sink, logger } = await setup(t, { batchMaxEntries: 10 }, { apiKeys: ['some-other-key'] });
  await spool.append(auditLogs(0, 50));
  sink.start();
  await waitFor(() => sink.status().authFailing, 'auth failing');
  // the intake logs a 403 as it answers, the sink counts it once it has read the answer: wait for both
  await waitFor(
    () => intake.history.filter((r) => r.status === 403).length >= 3 && sink.status().retries['4xx'] >= 3,
    'several slow probes',
  );
  assert.equal(sink.status().delivered, 0);
  assert.equal(intake.logCount, 0);
  assert.equal(spool.stats().records, 50, 'held in the spool');
  assert.equal(spool.stats().deadLetters, 0, 'nothing dead-lettered');
  const alarm = logger.lines.find((l) => l.level === 'error');
  assert.ok(alarm && /api key/i.test(alarm.msg) && alarm.obj.status === 403, 'a loud error names the cause');
  assert.ok(sink.status().retries['4xx'] >= 3);

  intake.setApiKeys([KEY]);
  await waitFor(() => sink.status().delivered === 50, 'delivered once the key works');
  assert.equal(sink.status().authFailing, false);
  assert.ok(logger.lines.some((l) => l.level === 'info' && /accepts the api key again/.test(l.msg)));
  assertExactlyOnce(intake, expectedIds(0, 50));

  // a 401 is the same story
  intake.inject({ status: 401, times: 2 });
  await spool.append(auditLogs(50, 10));
  await waitFor(() => sink.status().delivered === 60, 'delivered after the 401s');
  assert.equal(intake.history.filter((r) => r.status === 401).length, 2);
  assertExactlyOnce(intake, expectedIds(0, 60));

  // the key never reaches a log line or the status
  const everything = JSON.stringify(logger.lines) + JSON.stringify(sink.status());
  assert.ok(!everything.includes(KEY), 'api key leaked into logs or status');
});

test('one poisoned log in a batch of 100: only it is dead-lettered with a readable reason, 99 delivered', async (t) => {
  const { intake, spool, sink } = await setup(t, { concurrency: 1, batchMaxEntries: 100 }, { poison: ['POISON-PILL'] });
  const values = auditLogs(0, 100);
  values[37] = auditLog(37, 500, { note: 'contains POISON-PILL here' });
  await spool.append(values);
  sink.start();
  await waitFor(() => sink.status().delivered + sink.status().deadLettered === 100, 'all settled');
  assert.equal(sink.status().delivered, 99);
  assert.equal(sink.status().deadLettered, 1);
  assertExactlyOnce(
    intake,
    expectedIds(0, 100).filter((id) => id !== 'rec-37'),
  );
  const dead = await spool.listDead();
  assert.equal(dead.length, 1);
  assert.equal(dead[0]!.status, 400);
  assert.equal(dead[0]!.value, values[37]);
  assert.match(dead[0]!.reason, /^HTTP 400 Bad Request: .*contains the rejected value \\?"POISON-PILL/);
  assert.equal(spool.stats().records, 0);
  // bisection: far fewer requests than one per log
  assert.ok(intake.requests <= 20, `${intake.requests} requests`);
});

test('413: the batch is split and resent, never as is; a single log answered 413 is dead-lettered', async (t) => {
  const { intake, spool, sink } = await setup(t, { concurrency: 1, batchMaxEntries: 4 });
  intake.inject({ status: 413, times: 3 });
  await spool.append(auditLogs(0, 4));
  sink.start();
  await waitFor(() => sink.status().delivered + sink.status().deadLettered === 4, 'all settled');
  assert.deepEqual(
    intake.history.map((r) => [r.status, r.entries]),
    [
      [413, 4],
      [413, 2],
      [413, 1],
      [202, 1],
      [202, 2],
    ],
  );
  const dead = await spool.listDead();
  assert.deepEqual(
    dead.map((d) => [JSON.parse(d.value).id, d.status]),
    [['rec-0', 413]],
  );
  assert.match(dead[0]!.reason, /^HTTP 413/);
  assertExactlyOnce(intake, ['rec-1', 'rec-2', 'rec-3']);
});

test('connections reset mid-request are retried: nothing lost, nothing duplicated', async (t) => {
  const { intake, spool, sink } = await setup(t, { concurrency: 2, batchMaxEntries: 50 });
  intake.inject({ reset: true, times: 3 });
  await spool.append(auditLogs(0, 200));
  sink.start();
  await waitFor(() => sink.status().delivered === 200, 'all delivered');
  assertExactlyOnce(intake, expectedIds(0, 200));
  assert.equal(intake.history.filter((r) => r.status === 'reset').length, 3);
  assert.ok(sink.status().retries.network >= 3);
  assert.equal(sink.status().lastError?.status, null);
});

test('a slow intake hits the timeout; the request is retried and not acked twice', async (t) => {
  const { intake, spool, sink } = await setup(t, { concurrency: 1, timeoutMs: 300 });
  intake.inject({ delayMs: 1500, times: 1 });
  await spool.append(auditLogs(0, 20));
  sink.start();
  await waitFor(() => sink.status().delivered === 20, 'all delivered');
  await waitFor(() => intake.history.some((r) => r.status === 'abandoned'), 'the slow request given up');
  assertExactlyOnce(intake, expectedIds(0, 20));
  assert.match(sink.status().lastError?.message ?? '', /no answer from http:\/\/127\.0\.0\.1:\d+ within 300 ms/);
  assert.ok(sink.status().retries.network >= 1);
});

test('intake down, then up: logs wait in the spool and are delivered once it is back', async (t) => {
  const { intake, spool, sink } = await setup(t, { batchMaxEntries: 25 });
  await intake.setDown(true, 'refuse');
  await spool.append(auditLogs(0, 100));
  sink.start();
  await waitFor(() => sink.status().retries.network >= 4, 'connection failures');
  assert.equal(sink.status().delivered, 0);
  assert.equal(spool.stats().records, 100);
  assert.match(sink.status().lastError?.message ?? '', /could not reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  await intake.setDown(false);
  await waitFor(() => sink.status().delivered === 100, 'all delivered');
  assertExactlyOnce(intake, expectedIds(0, 100));
  assert.equal(spool.stats().records, 0);
});

test('stop() cancels requests still in flight at the deadline and acks nothing they carried', async (t) => {
  const { intake, spool, sink, reopen } = await setup(t, { concurrency: 1 });
  intake.inject({ delayMs: 1500, times: 1 });
  await spool.append(auditLogs(0, 10));
  sink.start();
  await waitFor(() => sink.status().inFlightRequests === 1 && intake.requests === 1, 'a request in flight');
  await sink.stop(50);
  assert.equal(sink.status().inFlightRequests, 0);
  assert.equal(sink.status().delivered, 0);
  assert.equal(spool.stats().records, 10, 'still in the spool');
  await waitFor(() => intake.history.some((r) => r.status === 'abandoned'), 'the intake saw the client leave');
  assert.equal(intake.logCount, 0);

  // after a restart the same logs are sent, once
  const again = await reopen();
  const logger = recordingLogger();
  const next = createDatadogSink(
    { ...sectionDefaults('datadog'), apiKey: KEY, url: intake.url, retryInitialMs: 10, concurrency: 1 },
    { spool: again, logger },
  );
  t.after(() => next.stop(0));
  next.start();
  await waitFor(() => next.status().delivered === 10, 'delivered after restart');
  assertExactlyOnce(intake, expectedIds(0, 10));
  await next.stop();
  assert.equal(again.stats().records, 0);
});

test('stop() lets a request in flight finish before the deadline and acks it; nothing new is taken', async (t) => {
  const { intake, spool, sink } = await setup(t, { concurrency: 1 });
  intake.inject({ delayMs: 300, times: 1 });
  await spool.append(auditLogs(0, 10));
  sink.start();
  await waitFor(() => sink.status().inFlightRequests === 1, 'a request in flight');
  await sink.stop(10_000);
  assert.equal(sink.status().delivered, 10);
  assertExactlyOnce(intake, expectedIds(0, 10));
  await spool.append(auditLogs(10, 5));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(intake.requests, 1, 'no request after stop');
  assert.equal(spool.stats().records, 5);
  assert.equal(spool.stats().inFlight, 0, 'nothing taken after stop');
});
