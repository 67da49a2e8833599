// the poller refused by the auth service (a role without the rules, a client certificate it does not accept):
// what the logs and status say, that a fixed role resumes without a restart and without loss, and that
// exit-on-last-event ends with an error instead of retrying forever. fake auth service over mTLS, real spool.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { status as grpcStatus } from '@grpc/grpc-js';
import { createCA, createCert } from '../../../src/tls/certs.js';
import { formatIdentityFile } from '../../../src/sources/teleport/identity.js';
import { PERMANENT_GIVE_UP } from '../../../src/sources/teleport/explain.js';
import { addFakeLockService } from '../../../src/fakes/teleport-lock.js';
import { iso } from '../../../src/fakes/teleport-events.js';
import {
  assertExactlyOnce,
  auditIds,
  datasetIds,
  drain,
  recordingKeys,
  sessionKeys,
  trackedEnvs,
  until,
  within,
} from './harness.js';

const env = trackedEnvs(after);
const DENIED = 'access denied to perform action "list" on "event"';

test('a role without the audit log rules: an error that says which rule and where; once granted, everything arrives once', async () => {
  const e = await env();
  e.fake.faults.failNextCalls.push({
    rpc: 'GetEventExportChunks',
    code: grpcStatus.PERMISSION_DENIED,
    times: 4,
    details: DENIED,
  });
  const source = e.source({ exitOnLastEvent: false });
  const seen: string[] = [];
  const watch = setInterval(() => seen.push(source.status().lastError ?? ''), 5);
  await source.start();
  await until(() => source.status().caughtUp, 20_000, 'caught up once the role allows it');
  clearInterval(watch);
  await source.stop();
  const records = await drain(e.spool);
  assertExactlyOnce(auditIds(records), datasetIds(e.fake.dataset), 'audit events');

  const denied = e.logs.lines.filter((l) =>
    /^teleport denied "bot-datadog" access to the audit log; retrying$/.test(String(l.msg)),
  );
  assert.equal(denied.length, 4, 'each refused call is logged');
  assert.equal(denied[0]!.level, 50, 'an error that says what to do, the first time');
  assert.ok(
    denied.slice(1).every((l) => l.level === 40 && l.hint === undefined),
    'then warnings, not the same error again',
  );
  assert.equal(denied[0]!.err, `PERMISSION_DENIED: ${DENIED}`);
  assert.match(
    String(denied[0]!.hint),
    /its role needs `event` list, read \(the role in teleport-datadog-forwarder-role\.yaml/,
  );
  assert.ok(!e.logs.has(/unreachable/), 'not called a network problem');
  assert.ok(
    seen.some((s) =>
      /^teleport denied "bot-datadog" access to the audit log \(PERMISSION_DENIED: .*\): its role needs/.test(s),
    ),
    'status said it, with what to do',
  );
  assert.equal(source.status().lastError, null, 'cleared once a call succeeded');
});

test('exit-on-last-event: a refusal that persists over the longest backoff ends the run with an error instead of retrying forever', async () => {
  const e = await env();
  e.fake.faults.failNextCalls.push({
    rpc: 'GetEventExportChunks',
    code: grpcStatus.PERMISSION_DENIED,
    times: Infinity,
    details: DENIED,
  });
  const source = e.source();
  await source.start();
  await assert.rejects(within(source.done, 15_000, 'gives up'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TDF_TELEPORT_ACCESS');
    assert.match(err.message, /access to the audit log \(PERMISSION_DENIED: .*\), \d+ times in a row: its role needs/);
    return true;
  });
  const calls = e.fake.calls.GetEventExportChunks.count;
  assert.ok(calls >= PERMANENT_GIVE_UP, `${calls} calls`);
  const times = e.fake.calls.GetEventExportChunks.recent.map((c) => c.at);
  assert.ok(times.at(-1)! - times[0]! >= 200, 'over at least the longest backoff (retryMaxMs 200 here)');
  assert.equal(source.status().state, 'failed');
  await source.stop();
  assert.equal((await drain(e.spool)).length, 0);
});

test('exit-on-last-event: passing trouble (the auth service unavailable) is still waited out', async () => {
  const e = await env();
  e.fake.faults.failNextCalls.push({
    rpc: 'GetEventExportChunks',
    code: grpcStatus.UNAVAILABLE,
    times: 2 * PERMANENT_GIVE_UP,
    details: 'connection refused',
  });
  const source = e.source();
  await source.start();
  await within(source.done, 20_000, 'export after the outage');
  await source.stop();
  assertExactlyOnce(auditIds(await drain(e.spool)), datasetIds(e.fake.dataset), 'audit events');
  const warned = e.logs.lines.filter(
    (l) => l.level === 40 && /^teleport auth service unreachable; retrying$/.test(String(l.msg)),
  );
  assert.equal(warned.length, 2 * PERMANENT_GIVE_UP);
});

test('a server that ends the connection at the handshake (a refused client certificate, or a restart): passing, with a hint naming both', async () => {
  const e = await env();
  // the server's CA is trusted, but the client certificate comes from another CA: the fake (node) hangs up
  const other = createCA({ commonName: 'other.example.com' });
  const c = createCert(other, { usage: 'client', commonName: 'bot-datadog' });
  fs.writeFileSync(e.identityFile, formatIdentityFile({ key: c.key, cert: c.cert, cas: [e.fake.ca] }), { mode: 0o600 });
  const source = e.source();
  await source.start();
  await until(
    () => /ended the connection at the TLS handshake/.test(source.status().lastError ?? ''),
    15_000,
    'the failure explained in status',
  );
  assert.match(
    source.status().lastError!,
    /: an auth service restarting does this, and so does one that does not accept the client certificate in .*identity/,
  );
  // it can be a restart: exit-on-last-event keeps waiting for it, past the give-up count of a refusal
  await until(
    () =>
      e.logs.lines.filter((l) => /ended the connection at the TLS handshake; retrying/.test(String(l.msg))).length >
      PERMANENT_GIVE_UP,
    15_000,
    'retries',
  );
  assert.equal(source.status().state, 'running');
  await source.stop();
  const warned = e.logs.lines.filter((l) => /ended the connection at the TLS handshake; retrying/.test(String(l.msg)));
  assert.ok(
    warned.every((l) => l.level === 40),
    'warnings: it may pass',
  );
});

test('session recordings and locks refused by the role: errors naming their rules; recordings arrive once granted', async () => {
  const e = await env();
  const locks = addFakeLockService(e.fake);
  const now = Date.now();
  const failed = (t: number) => ({
    event: 'user.login',
    code: 'T1000W',
    success: false,
    user: 'mallory',
    method: 'local',
    error: 'invalid credentials',
    time: iso(t),
  });
  e.fake.addEvents([failed(now - 3000), failed(now - 2000), failed(now - 1000)]);
  e.fake.faults.failNextCalls.push({
    rpc: 'StreamUnstructuredSessionEvents',
    code: grpcStatus.PERMISSION_DENIED,
    times: 2,
    details: 'access denied to perform action "read" on "session"',
  });
  e.fake.faults.failNextCalls.push({
    rpc: 'UpsertLock',
    code: grpcStatus.PERMISSION_DENIED,
    times: Infinity,
    details: 'access denied to perform action "create" on "lock"',
  });
  const source = e.source({ lockEnabled: true, lockFailedAttemptsCount: 3, lockPeriodMs: 60_000, lockForMs: 0 });
  await source.start();
  await within(source.done, 20_000, 'export');
  await source.stop();
  assertExactlyOnce(sessionKeys(await drain(e.spool)), recordingKeys(e.fake.dataset), 'session events');

  const sessions = e.logs.lines.filter(
    (l) =>
      l.level === 50 && /^teleport denied "bot-datadog" access to session recordings; retrying$/.test(String(l.msg)),
  );
  assert.equal(sessions.length, 1, 'one error with what to do; the second failure is a warning');
  assert.match(String(sessions[0]!.hint), /`session` list, read/);
  assert.equal(
    e.logs.lines.filter((l) => l.level === 40 && /^teleport session recording failed; will retry$/.test(String(l.msg)))
      .length,
    1,
  );
  // a role without the lock rules will not get them by retrying: one error with what to do
  assert.equal(e.fake.calls.UpsertLock!.count, 1);
  assert.equal(locks.length, 0);
  const lock = e.logs.lines.filter((l) => /could not lock teleport user; giving up/.test(String(l.msg)));
  assert.equal(lock.length, 1);
  assert.match(String(lock[0]!.msg), /teleport denied "bot-datadog" access to locks/);
  assert.match(String(lock[0]!.hint), /`lock` create, update/);
});

test('exit-on-last-event: recordings the role may not read end the run with an error once the audit log is done', async () => {
  const e = await env();
  e.fake.faults.failNextCalls.push({
    rpc: 'StreamUnstructuredSessionEvents',
    code: grpcStatus.PERMISSION_DENIED,
    times: Infinity,
    details: 'access denied to perform action "read" on "session"',
  });
  const source = e.source();
  await source.start();
  const n = e.fake.dataset.sessionIds.length;
  await assert.rejects(
    within(source.done, 30_000, 'gives up'),
    new RegExp(
      `^TeleportAccessError: ${n} session recordings could not be read: teleport denied "bot-datadog" access to session recordings \\(PERMISSION_DENIED: .*\\): its role needs \`session\` list, read`,
    ),
  );
  await source.stop();
  assertExactlyOnce(
    auditIds(await drain(e.spool)),
    datasetIds(e.fake.dataset),
    'the audit events were exported all the same',
  );
});
