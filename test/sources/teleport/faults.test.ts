// the poller under faults, against the fake auth service over mTLS with the real spool on disk: streams
// breaking, the auth service restarting, a full spool, the spool closing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceRecord } from '../../../src/record.js';
import { createTeleportSource } from '../../../src/sources/teleport/source.js';
import {
  assertExactlyOnce,
  auditIds,
  bigDataset,
  datasetIds,
  drain,
  recordingKeys,
  sessionKeys,
  spoolDeps,
  trackedEnvs,
  until,
  within,
} from './harness.js';

const env = trackedEnvs(after);

test('UNAVAILABLE mid-stream and failed listings are retried; nothing lost or repeated', async () => {
  const e = await env({ dataset: bigDataset() });
  e.fake.faults.unavailableAfter = {
    messages: 37,
    times: 6,
    rpcs: ['ExportUnstructuredEvents', 'StreamUnstructuredSessionEvents'],
  };
  e.fake.faults.failNextCalls.push({ rpc: 'GetEventExportChunks', code: 14, times: 3 });
  const source = e.source();
  await source.start();
  await within(source.done, 15_000, 'export with faults');
  await source.stop();
  const records = await drain(e.spool);
  assertExactlyOnce(auditIds(records), datasetIds(e.fake.dataset), 'audit events');
  assertExactlyOnce(sessionKeys(records), recordingKeys(e.fake.dataset), 'session events');
  assert.equal(e.fake.faults.unavailableAfter, undefined, 'every injected fault was hit');
  assert.ok(e.logs.has(/export chunk failed/));
});

test('streams that go silent (connection up, nothing sent) are cancelled after stream-idle-timeout and resumed from their cursor', async () => {
  const e = await env({ dataset: bigDataset() });
  e.fake.faults.stallAfter = {
    messages: 25,
    times: 3,
    rpcs: ['ExportUnstructuredEvents', 'StreamUnstructuredSessionEvents'],
  };
  const source = e.source({ streamIdleTimeoutMs: 300 });
  await source.start();
  await within(source.done, 20_000, 'export with stalled streams');
  await source.stop();
  const records = await drain(e.spool);
  assertExactlyOnce(auditIds(records), datasetIds(e.fake.dataset), 'audit events');
  assertExactlyOnce(sessionKeys(records), recordingKeys(e.fake.dataset), 'session events');
  assert.equal(e.fake.faults.stallAfter, undefined, 'every injected stall was hit');
  const idle = e.logs.lines.filter((l) =>
    /the stream sent nothing for \d+ s \(stream-idle-timeout\); cancelled, to be retried/.test(String(l.err)),
  );
  assert.equal(idle.length, 3, 'each stall was cut by the idle timeout, and logged');
});

test('a stalled stream is visible before stream-idle-timeout cancels it: a warning naming it, and status', async () => {
  const e = await env({ dataset: bigDataset() });
  e.fake.faults.stallAfter = { messages: 25, times: 1, rpcs: ['ExportUnstructuredEvents'] };
  // quiet is reported at a fifth of the idle timeout (a minute with the default 5 min)
  const source = e.source({ streamIdleTimeoutMs: 2_000 });
  const quiet: string[] = [];
  const watch = setInterval(() => quiet.push(...source.status().quietStreams.map((q) => q.what)), 20);
  await source.start();
  await within(source.done, 20_000, 'export with a stalled stream');
  clearInterval(watch);
  await source.stop();
  assertExactlyOnce(auditIds(await drain(e.spool)), datasetIds(e.fake.dataset), 'audit events');
  const warned = e.logs.lines.filter((l) =>
    /^a teleport stream has sent nothing for \d+ s with its connection up/.test(String(l.msg)),
  );
  assert.equal(warned.length, 1, 'one warning for the one stall');
  assert.match(String(warned[0]!.stream), /^export chunk \S+ of \d{4}-\d{2}-\d{2}$/);
  assert.equal(warned[0]!.cancelAfterSeconds, 2, 'it had sent events: the plain idle timeout applies');
  assert.ok(quiet.includes(String(warned[0]!.stream)), 'status listed it while it was quiet');
  assert.deepEqual([source.status().streamsOpen, source.status().quietStreams], [0, []]);
});

test('a chunk that keeps failing is called stuck (error log, status) until it succeeds; nothing is skipped', async () => {
  const e = await env({ dataset: bigDataset() });
  // the first chunk asked for fails 7 times in a row, the others stream
  let target: string | undefined;
  const when = (req: { chunk: string }) => (target ??= req.chunk) === req.chunk;
  e.fake.faults.failNextCalls.push({
    rpc: 'ExportUnstructuredEvents',
    code: 13,
    times: 7,
    details: 'backend read failed',
    when,
  });
  const source = e.source();
  const seen: number[] = [];
  const watch = setInterval(() => seen.push(source.status().stuckChunks.length), 5);
  await source.start();
  await within(source.done, 20_000, 'export with a chunk failing 7 times');
  clearInterval(watch);
  await source.stop();
  const records = await drain(e.spool);
  assertExactlyOnce(auditIds(records), datasetIds(e.fake.dataset), 'audit events');
  const errors = e.logs.lines.filter((l) => /teleport export chunk keeps failing/.test(String(l.msg)));
  assert.equal(errors.length, 3, 'failures 5, 6 and 7 are errors');
  assert.equal(
    e.logs.lines.filter((l) => /teleport export chunk failed; it will be retried/.test(String(l.msg))).length,
    4,
  );
  assert.match(String(errors[0]!.err), /INTERNAL: backend read failed/);
  assert.ok(
    seen.some((n) => n === 1),
    'status listed the stuck chunk',
  );
  assert.deepEqual(source.status().stuckChunks, [], 'cleared once it succeeded');
});

test('the auth service going away and coming back is retried, never fatal', async () => {
  const e = await env({ dataset: bigDataset() });
  e.fake.faults.slowStreamMs = 1;
  let emitted = 0;
  const source = e.source({}, { after: (r) => void (emitted += r.length) });
  await source.start();
  await until(() => emitted >= 200, 15_000, 'progress');
  // the status while it is down: failing since when, not caught up (a status poll, as /status would read it)
  let sawFailing = false;
  const watch = setInterval(() => {
    const st = source.status();
    if (st.failingSince !== null && !st.caughtUp && st.lastError !== null) sawFailing = true;
  }, 5);
  await e.fake.restart({ downMs: 300 });
  e.fake.faults.slowStreamMs = 0;
  await within(source.done, 15_000, 'export across a restart of the auth service');
  clearInterval(watch);
  assert.ok(sawFailing, 'the status said it was failing while the auth service was down');
  const after = source.status();
  assert.equal(after.failingSince, null, 'and no longer once it answered');
  assert.ok(after.lastSuccessAt !== null && after.caughtUp);
  await source.stop();
  const records = await drain(e.spool);
  assertExactlyOnce(auditIds(records), datasetIds(e.fake.dataset), 'audit events');
});

test('a full spool holds the poller back; it retries the same batch and loses nothing', async () => {
  const e = await env({ dataset: bigDataset(), maxBytes: 64 * 1024 });
  // waitForSpace counted, and the status read each time the poller waits: a poller that took the full spool for
  // a failure would never wait here (StateStore.commit rethrows) but log the chunk or recording as failed and set
  // lastError/failingSince (exporter.ts failure(), sessions.ts progress({ error })) before retrying
  let waits = 0;
  const errorsSeen: string[] = [];
  const sample = () => {
    const st = source.status();
    if (st.lastError !== null || st.failingSince !== null)
      errorsSeen.push(`lastError ${st.lastError}, failingSince ${st.failingSince}`);
  };
  const source = createTeleportSource(e.options(), {
    ...spoolDeps(e.spool, e.logs.logger),
    waitForSpace: (signal) => {
      waits++;
      sample();
      return e.spool.waitForSpace(signal);
    },
  });
  await source.start();
  const watch = setInterval(sample, 5);
  const got: SourceRecord[] = [];
  let sawFull = false;
  const drainer = (async () => {
    for (;;) {
      if (!e.spool.hasSpace()) sawFull = true;
      sample();
      const items = await e.spool.take(50, 16 * 1024);
      if (items.length === 0) return;
      for (const it of items) got.push(JSON.parse(it.value));
      await e.spool.ack(items);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  await within(source.done, 15_000, 'export through a small spool');
  clearInterval(watch);
  sample();
  await source.stop();
  await until(() => e.spool.stats().records === 0, 10_000, 'drained');
  await e.spool.close();
  await drainer;
  assert.ok(sawFull, 'the spool filled up at least once');
  assert.ok(waits > 0, 'the poller waited for spool space');
  const trouble = e.logs.lines.filter((l) =>
    /export chunk failed|export chunk keeps failing|session recording failed|listing teleport export chunks failed|teleport poller failed/.test(
      String(l.msg),
    ),
  );
  assert.deepEqual(
    trouble.map((l) => l.msg),
    [],
    'a full spool is not logged as a failure',
  );
  assert.deepEqual(errorsSeen.slice(0, 3), [], 'lastError and failingSince stayed null while the poller waited');
  assert.notEqual(source.status().state, 'failed');
  assertExactlyOnce(auditIds(got), datasetIds(e.fake.dataset), 'audit events');
  assertExactlyOnce(sessionKeys(got), recordingKeys(e.fake.dataset), 'session events');
});

test('the spool closing (shutdown) stops the poller quietly; the next run carries on exactly once', async () => {
  const e = await env({ dataset: bigDataset() });
  e.fake.faults.slowStreamMs = 1;
  let emitted = 0;
  let source = e.source({ exitOnLastEvent: false }, { after: (r) => void (emitted += r.length) });
  await source.start();
  await until(() => emitted >= 100, 15_000, 'progress');
  await e.spool.close();
  await within(source.done, 10_000, 'done after the spool closed');
  await source.stop();
  assert.notEqual(source.status().state, 'failed');
  assert.ok(e.logs.has(/spool closed/));
  const spool = await e.reopenSpool();
  const before = await drain(spool);
  e.fake.faults.slowStreamMs = 0;
  source = e.source();
  await source.start();
  await within(source.done, 15_000, 'second run');
  await source.stop();
  const all = [...before, ...(await drain(e.spool))];
  assertExactlyOnce(auditIds(all), datasetIds(e.fake.dataset), 'audit events');
  assertExactlyOnce(sessionKeys(all), recordingKeys(e.fake.dataset), 'session events');
});
