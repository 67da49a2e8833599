// the poller recovering from failures around sessions and identity, against the fake auth service over mTLS with
// the real spool: a failed batch carrying a session.upload, the same upload in two concurrent batches, recordings
// failing with errors other than NotFound under exit-on-last-event, a give-up whose state delete fails, and a
// rotated identity that cannot be used.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../helpers/logs.js';
import { generatedDataset } from '../../../src/fakes/teleport.js';
import { StorageError } from '../../../src/errors.js';
import { createCA, createCert } from '../../../src/tls/certs.js';
import { createAuditLogClient } from '../../../src/sources/teleport/client.js';
import { formatIdentityFile, loadIdentity } from '../../../src/sources/teleport/identity.js';
import { createSessions } from '../../../src/sources/teleport/sessions.js';
import { resolveOptions } from '../../../src/sources/teleport/options.js';
import { sectionDefaults } from '../../../src/config/sections.js';
import { createTeleportSource } from '../../../src/sources/teleport/source.js';
import { K, StateStore } from '../../../src/sources/teleport/state.js';
import type { DecodedEvent } from '../../../src/sources/teleport/events.js';
import {
  DAY,
  assertExactlyOnce,
  auditIds,
  datasetIds,
  drain,
  recordingKeys,
  sessionKeys,
  spoolDeps,
  today,
  trackedEnvs,
  until,
  within,
  writeIdentity,
} from './harness.js';

const env = trackedEnvs(after);
const yesterday = new Date(today - DAY).toISOString().slice(0, 10);
const small = (sessions?: { count: number; eventsPerSession: number }) =>
  generatedDataset({ dates: [yesterday], eventsPerDate: 20, chunksPerDate: 1, sessions, seed: 4 });
const upload = (sid: string, t: number) => ({
  event: 'session.upload',
  ei: 2147483647,
  sid,
  uid: randomUUID(),
  time: new Date(t).toISOString(),
  code: 'T2005I',
});

test('a batch carrying a session.upload that fails (not full, not closed) still registers the session when retried', async () => {
  const e = await env({ dataset: small() });
  const sid = randomUUID();
  e.fake.addEvents([upload(sid, Date.now() - 60_000)]);
  e.fake.faults.notFoundSessions.set(sid, Infinity); // the recording can take hours to appear
  const deps = spoolDeps(e.spool, e.logs.logger);
  const emit = deps.emit;
  let failed = 0;
  deps.emit = async (records, state) => {
    if (failed === 0 && records.some((r) => r.record.sid === sid)) {
      failed++;
      throw new StorageError('write failed: EIO');
    }
    return emit(records, state);
  };
  const s = createTeleportSource(e.options(), deps);
  await s.start();
  await within(s.done, 15_000, 'run');
  await s.stop();
  assert.equal(failed, 1);
  const records = await drain(e.spool);
  assert.equal(records.filter((r) => r.record.sid === sid).length, 1, 'the upload event shipped once');
  const saved = await e.spool.getState(K.session(sid));
  assert.ok(saved !== undefined, 'the session is in state, so a restart still streams its recording');
  assert.equal(JSON.parse(saved!).i, 0);
});

test('the same upload in two concurrent batches is claimed once; a failed claim is released', async () => {
  const e = await env({ dataset: small() });
  const client = createAuditLogClient({
    addr: e.fake.address,
    identity: loadIdentity({ identityFile: e.identityFile }),
    mode: 'direct',
    apiVersion: '17.0.0',
    timeoutMs: 5000,
  });
  const ac = new AbortController();
  after(() => {
    ac.abort();
    client.close();
  });
  const logger = silentLogger;
  const store = new StateStore(spoolDeps(e.spool, logger), logger);
  const options = resolveOptions({
    ...sectionDefaults('teleport'),
    exitOnLastEvent: false,
    addr: 'auth:3025',
    identity: e.identityFile,
    concurrency: 2,
    skipSessionTypes: [],
    sessionRetryBaseMs: 60_000,
    sessionRetryMaxMs: 60_000,
  });
  const sessions = createSessions({ client, store, logger, now: Date.now, signal: ac.signal, options }, () => {});
  const sid = randomUUID();
  e.fake.faults.notFoundSessions.set(sid, Infinity);
  const ev = (): DecodedEvent => ({
    type: 'session.upload',
    id: randomUUID(),
    index: 0,
    time: Date.now(),
    record: { event: 'session.upload', sid },
  });
  const tracked = () => sessions.stats().active + sessions.stats().pending;

  const a = sessions.opsFor([ev()]);
  assert.deepEqual(a.claimed, [sid]);
  assert.equal(a.ops.length, 1);
  const b = sessions.opsFor([ev()]);
  assert.deepEqual(b, { ops: [], claimed: [] }, 'the concurrent batch carries no second put');
  sessions.registerFrom(b.claimed); // b is durable first: it claimed nothing, so nothing starts yet
  assert.equal(tracked(), 0, 'not registered before the batch carrying its state is durable');
  sessions.release(a.claimed); // a failed
  const retry = sessions.opsFor([ev()]);
  assert.deepEqual(retry.claimed, [sid], 'the retried batch claims it again');
  assert.equal(retry.ops.length, 1);
  sessions.registerFrom(retry.claimed);
  assert.equal(tracked(), 1);
  assert.deepEqual(sessions.opsFor([ev()]).claimed, [], 'a known session is not claimed again');
  ac.abort();
  await sessions.stop();
});

test('exit-on-last-event exits when recordings keep failing (not NotFound, not refused): they stay in state, are logged, and resume next run', async () => {
  const e = await env({ dataset: small({ count: 2, eventsPerSession: 10 }) });
  // a refusal (PERMISSION_DENIED) ends the run with an error instead: access.test.ts
  e.fake.faults.failNextCalls.push({
    rpc: 'StreamUnstructuredSessionEvents',
    code: grpc.status.INTERNAL,
    times: Infinity,
    details: 'backend read failed',
  });
  let s = e.source();
  await s.start();
  await within(s.done, 15_000, 'exit-on-last-event with failing recordings');
  await s.stop();
  const sids = e.fake.dataset.sessionIds;
  assert.equal(sids.length, 2);
  const first = await drain(e.spool);
  assert.equal(sessionKeys(first).length, 0);
  for (const sid of sids) {
    assert.ok(await e.spool.getState(K.session(sid)), 'still in state');
    const calls = e.fake.calls.StreamUnstructuredSessionEvents!.recent.filter(
      (c) => (c.request as { session_id: string }).session_id === sid,
    );
    assert.ok(calls.length >= 3, `${calls.length} attempts before exiting`);
    const left = e.logs.lines.find((l) => l.sid === sid && /left behind at exit/.test(String(l.msg)));
    assert.ok(left, 'logged at exit');
    assert.match(String(left!.err), /INTERNAL: backend read failed/);
    assert.ok(Number(left!.attempts) >= 3);
  }

  e.fake.faults.failNextCalls.length = 0; // the auth service's storage is back
  s = e.source();
  await s.start();
  await within(s.done, 15_000, 'second run');
  await s.stop();
  const all = [...first, ...(await drain(e.spool))];
  assertExactlyOnce(sessionKeys(all), recordingKeys(e.fake.dataset), 'session events');
  assert.deepEqual(await e.spool.listState(K.sessionPrefix), []);
  assertExactlyOnce(auditIds(all), datasetIds(e.fake.dataset), 'audit events');
});

test('a give-up whose state delete fails backs off instead of retrying at once', async () => {
  const e = await env({ dataset: small() });
  const lost = randomUUID();
  e.fake.addEvents([upload(lost, Date.now() - 60_000)]);
  e.fake.faults.notFoundSessions.set(lost, Infinity);
  const deps = spoolDeps(e.spool, e.logs.logger);
  const putState = deps.putState;
  let refused = 0;
  deps.putState = async (ops) => {
    if (ops.some((op) => op.type === 'del' && op.key === K.session(lost))) {
      refused++;
      throw new StorageError('write failed: EIO');
    }
    return putState(ops);
  };
  // not found since a minute ago (saved by an earlier run), past the give-up time set below
  await e.spool.putState([
    {
      type: 'put',
      key: K.session(lost),
      value: JSON.stringify({ i: 0, t: Date.now() - 60_000, nf: Date.now() - 60_000 }),
    },
  ]);
  // retries of the session are a minute away at least: any second attempt during this test is a tight loop
  const s = createTeleportSource(
    e.options({ sessionRetryBaseMs: 60_000, sessionRetryMaxMs: 60_000, sessionGiveUpMs: 1000 }),
    deps,
  );
  await s.start();
  await within(s.done, 15_000, 'exit-on-last-event with an undeletable session');
  await s.stop();
  const calls = e.fake.calls.StreamUnstructuredSessionEvents!.recent.filter(
    (c) => (c.request as { session_id: string }).session_id === lost,
  );
  assert.equal(calls.length, 1);
  assert.equal(refused, 1);
  assert.ok(
    e.logs.lines.some(
      (l) => l.sid === lost && /could not drop the session/.test(String(l.msg)) && Number(l.retryInMs) >= 60_000,
    ),
  );
  assert.ok(await e.spool.getState(K.session(lost)), 'kept: the next run gives up on it again');
});

test('a rotated identity that cannot be used (proxy mode, no cluster name in it) is logged and retried, never a crash', async () => {
  const e = await env({ dataset: small() });
  const s = e.source({ mode: 'proxy', exitOnLastEvent: false, refreshEnabled: true, refreshIntervalMs: 50 });
  await s.start();
  await until(() => s.status().caughtUp, 10_000, 'caught up through the proxy route');
  // a user CA without a common name: the client certificate does not tell the cluster
  const noName = createCA({ commonName: '', bits: 1024 });
  const cert = createCert(noName, { usage: 'client', commonName: 'bot-rotated', bits: 1024 });
  fs.writeFileSync(e.identityFile, formatIdentityFile({ key: cert.key, cert: cert.cert, cas: [e.fake.ca] }));
  const failures = () => e.logs.lines.filter((l) => /new identity cannot be used/.test(String(l.msg))).length;
  // twice: the unusable identity is not recorded as applied
  await until(() => failures() >= 2, 10_000, 'the refresh failure logged at each refresh');
  assert.equal(s.status().identityRefreshedAt, null);
  assert.equal(s.status().identity!.user, 'bot-datadog');
  assert.equal(s.status().state, 'running');
  assert.match(
    String(e.logs.lines.find((l) => /new identity cannot be used/.test(String(l.msg)))!.err),
    /cluster name/,
  );

  writeIdentity(e.fake, e.identityFile, 'bot-fixed');
  await until(() => s.status().identityRefreshedAt !== null, 10_000, 'the fixed identity loaded');
  e.fake.addEvents([
    {
      event: 'user.login',
      code: 'T1000I',
      success: true,
      user: 'alice',
      uid: randomUUID(),
      time: new Date().toISOString(),
    },
  ]);
  await until(
    () => e.fake.calls.GetEventExportChunks!.last!.user === 'bot-fixed',
    10_000,
    'calls made with the fixed identity',
  );
  await s.stop();
  assert.equal(s.status().identity!.user, 'bot-fixed');
});
