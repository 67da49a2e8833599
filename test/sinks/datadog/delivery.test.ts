// the sink against the fake intake over real http, with a real spool on disk: healthy delivery within the limits
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeIntake, type FakeIntake } from '../../../src/fakes/intake.js';
import { createDatadogSink, type DatadogSinkOptions } from '../../../src/sinks/datadog/sink.js';
import { sectionDefaults } from '../../../src/config/sections.js';
import { arrayOverhead } from '../../../src/sinks/datadog/limits.js';
import type { Spool } from '../../../src/spool/types.js';
import { auditLogs, expectedIds, receivedIds, recordingLogger, tempSpool, waitFor } from './support.js';

const KEY = 'test-api-key-0001';

async function setup(t: import('node:test').TestContext, options: Partial<DatadogSinkOptions> = {}) {
  const intake = await startFakeIntake({ apiKeys: [KEY] });
  const { spool } = await tempSpool(t);
  const logger = recordingLogger();
  const sink = createDatadogSink(
    { ...sectionDefaults('datadog'), apiKey: KEY, url: intake.url, retryInitialMs: 10, retryMaxMs: 100, ...options },
    { spool, logger },
  );
  t.after(async () => {
    await sink.stop(0);
    await intake.close();
  });
  return { intake, spool, logger, sink };
}

function assertExactlyOnce(intake: FakeIntake, from: number, count: number): void {
  const got = receivedIds(intake.logs);
  assert.equal(got.length, count, 'no duplicates, nothing missing');
  assert.deepEqual([...got].sort(), expectedIds(from, count).sort());
}

async function assertDrained(spool: Spool): Promise<void> {
  const stats = spool.stats();
  assert.equal(stats.records, 0, 'spool emptied');
  assert.equal(stats.inFlight, 0, 'nothing left taken');
  assert.equal(stats.deadLetters, 0);
}

test('2500 logs arrive exactly once, gzip on the wire, never more than 1000 per request', async (t) => {
  const { intake, spool, sink } = await setup(t);
  await spool.append(auditLogs(0, 2500));
  sink.start();
  await waitFor(() => sink.status().delivered === 2500, 'all delivered');
  assertExactlyOnce(intake, 0, 2500);
  assert.ok(intake.maxEntriesSeen <= 1000 && intake.maxEntriesSeen > 0, `max entries ${intake.maxEntriesSeen}`);
  assert.ok(intake.history.length >= 3, 'at least three requests for 2500 logs');
  for (const r of intake.history) {
    assert.equal(r.status, 202);
    assert.equal(r.contentEncoding, 'gzip');
    assert.ok(r.bodyBytes !== null && r.wireBytes < r.bodyBytes, 'compressed on the wire');
  }
  await assertDrained(spool);
  const status = sink.status();
  assert.equal(status.requests, intake.requests);
  assert.deepEqual(status.retries, { '4xx': 0, '429': 0, '5xx': 0, network: 0, other: 0 });
  assert.equal(status.lastError, null);
  // every field of the log reaches datadog as it was spooled
  const first = intake.logs.find((l) => l.id === 'rec-0')!;
  assert.deepEqual(first, JSON.parse(auditLogs(0, 1)[0]!));
});

test('batches respect batchMaxEntries and batchMaxBytes', async (t) => {
  const { intake, spool, sink } = await setup(t, { batchMaxEntries: 7, batchMaxBytes: 12_000, concurrency: 3 });
  await spool.append(auditLogs(0, 300, 2000));
  sink.start();
  await waitFor(() => sink.status().delivered === 300, 'all delivered');
  assertExactlyOnce(intake, 0, 300);
  assert.ok(intake.maxEntriesSeen <= 7);
  for (const r of intake.history) {
    assert.ok(r.entries !== null && r.bodyBytes !== null);
    assert.ok(r.bodyBytes <= 12_000 + arrayOverhead(r.entries), `body ${r.bodyBytes} bytes for ${r.entries} logs`);
  }
  await assertDrained(spool);
});

test('deflate or no compression, and the ddtags query parameter', async (t) => {
  for (const compression of ['deflate', 'none'] as const) {
    const { intake, spool, sink } = await setup(t, { compression, ddtags: 'env:test,team:sec' });
    await spool.append(auditLogs(0, 50));
    sink.start();
    await waitFor(() => sink.status().delivered === 50, `all delivered (${compression})`);
    assertExactlyOnce(intake, 0, 50);
    for (const r of intake.history) {
      assert.equal(r.contentEncoding, compression === 'none' ? null : 'deflate');
      assert.equal(r.ddtags, 'env:test,team:sec');
      if (compression === 'none') assert.equal(r.wireBytes, r.bodyBytes);
    }
    await sink.stop();
  }
});

test('logs appended while the sink runs are picked up as they come', async (t) => {
  const { intake, spool, sink } = await setup(t, { concurrency: 2 });
  sink.start();
  for (let round = 0; round < 10; round += 1) {
    await spool.append(auditLogs(round * 37, 37));
    await new Promise((r) => setTimeout(r, 5));
  }
  await waitFor(() => sink.status().delivered === 370, 'all delivered');
  assertExactlyOnce(intake, 0, 370);
  await assertDrained(spool);
});
