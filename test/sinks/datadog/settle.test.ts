// a failed ack (a disk full for a moment) must not strand delivered logs in the spool: the sink retries it
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLevel } from 'memory-level';
import { openSpool, type SpoolDb } from '../../../src/spool/spool.js';
import { createDatadogSink } from '../../../src/sinks/datadog/sink.js';
import { sectionDefaults } from '../../../src/config/sections.js';
import { startFakeIntake } from '../../../src/fakes/intake.js';
import { interceptBatches } from '../../spool/helpers.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

test('an ack that fails once is retried: the spool ends empty, nothing stays taken', async (t) => {
  const db = new MemoryLevel<string, string>();
  let failAcks = 1;
  interceptBatches(db as unknown as SpoolDb, async (ops, _options, write) => {
    if (failAcks > 0 && ops.some((op) => op.type === 'del' && op.key.startsWith('q!'))) {
      failAcks -= 1;
      throw Object.assign(new Error('no space left on device'), { code: 'LEVEL_IO_ERROR' });
    }
    await write();
  });
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, db: db as unknown as SpoolDb, maxBytes: 1_000_000 });
  const intake = await startFakeIntake();
  const sink = createDatadogSink(
    { ...sectionDefaults('datadog'), apiKey: 'k'.repeat(32), url: intake.url, concurrency: 1, retryInitialMs: 10 },
    { spool, logger: quiet },
  );
  t.after(async () => {
    await sink.stop(0);
    await spool.close();
    await intake.close();
  });
  await spool.append(Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `s-${i}` })));
  sink.start();
  const deadline = Date.now() + 20_000;
  while (spool.stats().records > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(failAcks, 0, 'the injected failure happened');
  assert.deepEqual(
    { records: spool.stats().records, inFlight: spool.stats().inFlight, bytes: spool.stats().bytes },
    { records: 0, inFlight: 0, bytes: 0 },
  );
  assert.equal(sink.status().delivered, 30);
});

test('a wrong url (404) holds delivery instead of dead-lettering the spool; fixing it delivers everything', async (t) => {
  const spool = await openSpool({
    syncIntervalMs: SYNC_MS,
    db: new MemoryLevel<string, string>() as unknown as SpoolDb,
    maxBytes: 1_000_000,
  });
  const intake = await startFakeIntake();
  intake.inject({ status: 404, times: 3, body: '404 page not found' });
  const sink = createDatadogSink(
    { ...sectionDefaults('datadog'), apiKey: 'k'.repeat(32), url: intake.url, concurrency: 1, authRetryMs: 20 },
    { spool, logger: quiet },
  );
  t.after(async () => {
    await sink.stop(0);
    await spool.close();
    await intake.close();
  });
  await spool.append(Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: `w-${i}` })));
  sink.start();
  const deadline = Date.now() + 20_000;
  while (intake.logCount < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(spool.stats().deadLetters, 0, 'nothing dead-lettered for a wrong url');
  assert.equal(intake.logCount, 50);
  assert.ok(intake.requests <= 3 + 1 + 1, 'held and probed with one batch, not bisected into single logs');
});

test('a trickle of logs goes out in a few full-ish requests, not one request per log', async (t) => {
  const spool = await openSpool({
    syncIntervalMs: SYNC_MS,
    db: new MemoryLevel<string, string>() as unknown as SpoolDb,
    maxBytes: 10_000_000,
  });
  const intake = await startFakeIntake();
  const sink = createDatadogSink(
    { ...sectionDefaults('datadog'), apiKey: 'k'.repeat(32), url: intake.url, concurrency: 4, batchWaitMs: 200 },
    { spool, logger: quiet },
  );
  t.after(async () => {
    await sink.stop(0);
    await spool.close();
    await intake.close();
  });
  sink.start();
  // 200 logs, one at a time, as an ingest at a steady low rate would append them
  for (let i = 0; i < 200; i++) {
    await spool.append([JSON.stringify({ id: `t-${i}` })]);
    await new Promise((r) => setTimeout(r, 2));
  }
  const deadline = Date.now() + 20_000;
  while (intake.logCount < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(intake.logCount, 200);
  t.diagnostic(`200 logs in ${intake.requests} requests`);
  assert.ok(intake.requests <= 50, `batched: ${intake.requests} requests for 200 logs`);
});

test('a spool read that fails for good (damage) stalls delivery visibly: status says why, every worker stops', async (t) => {
  const spool = await openSpool({
    syncIntervalMs: SYNC_MS,
    db: new MemoryLevel<string, string>() as unknown as SpoolDb,
    maxBytes: 1_000_000,
  });
  const intake = await startFakeIntake();
  const errors: string[] = [];
  const logger = { ...quiet, error: (o: { err?: string }) => errors.push(String(o.err)) };
  // the damage a real spool reports from take() (corruptError): injected at the read, the rest is the real spool
  const take = spool.take.bind(spool);
  let reads = 0;
  spool.take = async (...args) => {
    reads += 1;
    if (reads > 1) throw new Error('storage directory /s is corrupt (LevelDB: Corruption: block checksum mismatch)');
    return take(...args);
  };
  const sink = createDatadogSink(
    {
      ...sectionDefaults('datadog'),
      apiKey: 'k'.repeat(32),
      url: intake.url,
      concurrency: 3,
      retryInitialMs: 10,
      batchWaitMs: 0,
    },
    { spool, logger },
  );
  t.after(async () => {
    await sink.stop(0);
    await spool.close();
    await intake.close();
  });
  await spool.append([JSON.stringify({ id: 'before-damage' })]);
  sink.start();
  const deadline = Date.now() + 20_000;
  while (errors.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(errors.length, 3, 'each of the 3 workers stopped on the damage');
  assert.match(sink.status().stalled ?? '', /is corrupt/);
  assert.equal(sink.status().delivered, 1, 'what was read before the damage was delivered');
});
