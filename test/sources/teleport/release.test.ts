// grpc calls give back what they hold, against the fake auth service over mTLS: no abort listener is left on
// the poller's long-lived signal after unary calls (which never emit 'close') or streams, and a stream whose
// reader stops early is cancelled, not just destroyed (destroy alone leaves the call open on the server).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { generatedDataset } from '../../../src/fakes/teleport.js';
import { addFakeLockService } from '../../../src/fakes/teleport-lock.js';
import { createAuditLogClient } from '../../../src/sources/teleport/client.js';
import type { WireExportEvent } from '../../../src/sources/teleport/decoder.js';
import { loadIdentity } from '../../../src/sources/teleport/identity.js';
import { readBatches } from '../../../src/sources/teleport/batches.js';
import { trackedEnvs, within, type Env } from './harness.js';

const env = trackedEnvs(after);
const DATE = '2026-11-20';

function clientFor(e: Env) {
  const c = createAuditLogClient({
    addr: e.fake.address,
    identity: loadIdentity({ identityFile: e.identityFile }),
    mode: 'direct',
    apiVersion: '17.0.0',
    timeoutMs: 5000,
  });
  after(() => c.close());
  return c;
}

const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

test('unary calls and streams leave no abort listener on the signal, whether they succeed or fail', async () => {
  const e = await env({ dataset: generatedDataset({ dates: [DATE], eventsPerDate: 100, chunksPerDate: 1 }) });
  addFakeLockService(e.fake);
  const c = clientFor(e);
  const ac = new AbortController();
  const search = {
    startDate: new Date(DATE),
    endDate: new Date(Date.parse(DATE) + 86_400_000),
    eventTypes: [],
    limit: 5,
    startKey: '',
  };
  for (let i = 0; i < 30; i++) await c.searchEvents(search, ac.signal);
  assert.equal(listeners(ac.signal), 0, 'after successful searches');
  e.fake.faults.failNextCalls.push({ rpc: 'GetUnstructuredEvents', code: grpc.status.UNAVAILABLE, times: 5 });
  for (let i = 0; i < 5; i++)
    await assert.rejects(c.searchEvents(search, ac.signal), (err: any) => err.code === grpc.status.UNAVAILABLE);
  assert.equal(listeners(ac.signal), 0, 'after failed searches');
  for (let i = 0; i < 5; i++) await c.upsertLock({ name: `l${i}`, user: 'eve', message: 'm' }, ac.signal);
  assert.equal(listeners(ac.signal), 0, 'after lock upserts');

  const [chunk] = await c.getEventExportChunks(new Date(DATE), ac.signal);
  const full = c.exportEvents(new Date(DATE), chunk!, '', ac.signal);
  let n = 0;
  for await (const _ of full) n++;
  assert.equal(n, 100);
  const cut = c.exportEvents(new Date(DATE), chunk!, '', ac.signal);
  const cutStatus = new Promise((r) => cut.once('status', r));
  for await (const _ of readBatches<WireExportEvent>(cut, 10, 20)) break;
  await within(cutStatus, 10_000, 'status of the stream left early');
  assert.equal(listeners(ac.signal), 0, 'after a listing, a full stream and a stream left early');

  // the signal still cancels calls made after all that
  const late = c.exportEvents(new Date(DATE), chunk!, '', ac.signal);
  const lateStatus = new Promise<grpc.StatusObject>((r) => late.once('status', r));
  late.on('error', () => {});
  ac.abort();
  assert.equal((await within(lateStatus, 10_000, 'status after abort')).code, grpc.status.CANCELLED);
});

test('a reader that stops early (a failed batch) cancels the grpc call', async () => {
  const e = await env({ dataset: generatedDataset({ dates: [DATE], eventsPerDate: 5000, chunksPerDate: 1 }) });
  const c = clientFor(e);
  const [chunk] = await c.getEventExportChunks(new Date(DATE));
  const stream = c.exportEvents(new Date(DATE), chunk!, '');
  const status = new Promise<grpc.StatusObject>((r) => stream.once('status', r));
  stream.on('error', () => {});
  await assert.rejects(
    (async () => {
      for await (const b of readBatches<WireExportEvent>(stream, 5, 20))
        throw new Error(`shipping ${b.length} events failed`);
    })(),
    /shipping 5 events failed/,
  );
  // without cancel() the call stays open (the server blocked on back-pressure) and no status ever comes
  const st = await within(status, 10_000, 'status of the abandoned stream');
  assert.equal(st.code, grpc.status.CANCELLED);
  assert.ok(stream.destroyed);
});
