// session recordings (resume from the saved index, the concurrency cap, NotFound retried and given up 48 h after
// the first one), the auto-lock, and identity refresh, against the fake auth service over mTLS with the real spool.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomUUID, X509Certificate } from 'node:crypto';
import { generatedDataset } from '../../../src/fakes/teleport.js';
import { addFakeLockService, type FakeLock } from '../../../src/fakes/teleport-lock.js';
import { formatIdentityFile } from '../../../src/sources/teleport/identity.js';
import { K } from '../../../src/sources/teleport/state.js';
import { LOCK_MESSAGE, lockName } from '../../../src/sources/teleport/lock.js';
import { createTeleportSource } from '../../../src/sources/teleport/source.js';
import type { SourceRecord } from '../../../src/record.js';
import {
  DAY,
  assertExactlyOnce,
  auditIds,
  drain,
  exactlyOnce,
  recordingKeys,
  sessionKeys,
  setup,
  spoolDeps,
  until,
  within,
  writeIdentity,
  type Env,
} from './harness.js';
import { awayFromUtcMidnight } from '../../helpers/clock.js';

await awayFromUtcMidnight();

const envs: Env[] = [];
after(async () => {
  for (const e of envs) await e.close();
});
const today = Date.parse(new Date().toISOString().slice(0, 10));
const yesterday = new Date(today - DAY).toISOString().slice(0, 10);
async function env(): Promise<Env> {
  const e = await setup({
    dataset: generatedDataset({
      dates: [new Date(today - 3 * DAY).toISOString().slice(0, 10), yesterday],
      eventsPerDate: 20,
      chunksPerDate: 2,
      seed: 3,
    }),
  });
  envs.push(e);
  return e;
}

const iso = (ms: number) => new Date(ms).toISOString();

function recording(sid: string, n: number, startMs: number): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [
    { event: 'session.start', ei: 0, sid, uid: randomUUID(), time: iso(startMs), code: 'T2000I' },
  ];
  for (let i = 1; i < n - 1; i++)
    out.push({ event: 'print', ei: i, time: iso(startMs + i), data: 'bHMNCg==', bytes: 4 });
  out.push({ event: 'session.end', ei: n - 1, sid, uid: randomUUID(), time: iso(startMs + n), code: 'T2004I' });
  return out;
}
const upload = (sid: string, t: number) => ({
  event: 'session.upload',
  ei: 2147483647,
  sid,
  uid: randomUUID(),
  time: iso(t),
  code: 'T2005I',
  url: `s3://b/${sid}.tar`,
});
const keysOf = (records: SourceRecord[], sid: string) =>
  records.filter((r) => r.tag === `session.${sid}.log`).map((r) => String(r.record.ei));

test('a recording stopped mid-way resumes from the saved index after a restart: no loss, no duplicate', async () => {
  const e = await env();
  const sid = randomUUID();
  const n = 1200;
  e.fake.addRecording(sid, recording(sid, n, Date.now() - 3600_000));
  e.fake.addEvents([upload(sid, Date.now() - 60_000)]);
  e.fake.faults.slowStreamMs = 1;
  let sessionBatches = 0;
  let source = e.source(
    { skipSessionTypes: [] },
    { after: (r) => void (sessionBatches += r.some((x) => x.tag === `session.${sid}.log`) ? 1 : 0) },
  );
  await source.start();
  await until(() => sessionBatches >= 1, 15_000, 'part of the recording shipped');
  await source.stop();
  const saved = JSON.parse((await e.spool.getState(K.session(sid)))!);
  assert.ok(saved.i > 0 && saved.i < n, `saved index ${saved.i} is mid-recording`);
  const first = await drain(e.spool);
  assert.equal(keysOf(first, sid).length, saved.i, 'the saved index covers exactly what was shipped');

  e.fake.faults.slowStreamMs = 0;
  source = e.source({ skipSessionTypes: [] });
  await source.start();
  await within(source.done, 15_000, 'second run');
  await source.stop();
  const all = [...first, ...(await drain(e.spool))];
  const r = exactlyOnce(
    keysOf(all, sid),
    Array.from({ length: n }, (_, i) => String(i)),
  );
  assert.deepEqual([r.missing, r.dupes, r.extra], [[], [], []]);
  const resumed = e.fake.calls.StreamUnstructuredSessionEvents!.recent.filter(
    (c) => (c.request as any).session_id === sid,
  );
  assert.equal((resumed[resumed.length - 1]!.request as any).start_index, saved.i);
  assert.equal(await e.spool.getState(K.session(sid)), undefined);
  // the upload event itself went out once, as an audit event
  assert.equal(auditIds(all).filter((id) => all.some((x) => x.record.uid === id && x.record.sid === sid)).length, 1);
});

test('recordings stream at most `concurrency` at once, and that many do run together', async () => {
  const ds = generatedDataset({
    dates: [yesterday],
    eventsPerDate: 40,
    chunksPerDate: 1,
    sessions: { count: 8, eventsPerSession: 100 },
    seed: 5,
  });
  const e = await setup({ dataset: ds });
  envs.push(e);
  // each recording stays open for 100 slow messages: recordings overlap whenever the cap lets them
  e.fake.faults.slowStreamMs = 5;
  const source = e.source({ concurrency: 3, skipSessionTypes: [] });
  await source.start();
  await within(source.done, 30_000, 'export with recordings');
  await source.stop();
  assertExactlyOnce(sessionKeys(await drain(e.spool)), recordingKeys(ds, []), 'session events');
  const peak = e.fake.streams.StreamUnstructuredSessionEvents.peak;
  assert.ok(peak <= 3, `at most concurrency (3) recordings streamed at once, saw ${peak}`);
  assert.equal(peak, 3, 'the cap was reached: recordings are not streamed one at a time');
  // export chunks have a cap of their own (the same number), not shared with the recordings
  assert.ok(e.fake.streams.ExportUnstructuredEvents.peak <= 3);
});

test('a recording not found yet is retried, then streamed', async () => {
  const e = await env();
  const late = randomUUID();
  e.fake.addRecording(late, recording(late, 30, Date.now() - 600_000));
  e.fake.faults.notFoundSessions.set(late, 3);
  e.fake.addEvents([upload(late, Date.now() - 60_000)]);
  const source = e.source({ exitOnLastEvent: false, skipSessionTypes: [] });
  await source.start();
  await until(
    async () => (await e.spool.listState(K.sessionPrefix)).length === 0 && source.status().sessionsFinished === 1,
    15_000,
    'late recording shipped',
  );
  await source.stop();
  const records = await drain(e.spool);
  assert.deepEqual(
    keysOf(records, late).sort((a, b) => Number(a) - Number(b)),
    Array.from({ length: 30 }, (_, i) => String(i)),
  );
  const calls = e.fake.calls.StreamUnstructuredSessionEvents!.recent.filter(
    (c) => (c.request as any).session_id === late,
  );
  assert.equal(calls.length, 4, 'three NOT_FOUND answers, then the stream');
  assert.ok(
    e.logs.lines.some((l) => l.sid === late && /will retry/.test(String(l.msg)) && l.err === 'recording not found'),
  );
});

test('an upload older than 48 h (a backfill) is not given up on its first NOT_FOUND: retried until it appears', async () => {
  const e = await env();
  const old = randomUUID();
  e.fake.addRecording(old, recording(old, 30, Date.now() - 3 * DAY));
  e.fake.faults.notFoundSessions.set(old, 3);
  e.fake.addEvents([upload(old, Date.now() - 3 * DAY + 3600_000)]);
  const source = e.source({ exitOnLastEvent: false, skipSessionTypes: [] });
  await source.start();
  await until(
    () => source.status().sessionsFinished + source.status().sessionsGivenUp >= 1,
    15_000,
    'old recording shipped or given up',
  );
  const st = source.status();
  await source.stop();
  assert.equal(st.sessionsGivenUp, 0);
  assert.equal(st.sessionsFinished, 1);
  assert.deepEqual(
    keysOf(await drain(e.spool), old).sort((a, b) => Number(a) - Number(b)),
    Array.from({ length: 30 }, (_, i) => String(i)),
  );
  assert.equal(await e.spool.getState(K.session(old)), undefined);
  assert.ok(!e.logs.has(/giving up/));
});

test('a recording not found for over 48 h since its first NOT_FOUND is given up with the reason; that time survives a restart', async () => {
  const e = await env();
  // the injected clock runs up to 49 h ahead of the certificate's real validity
  writeIdentity(e.fake, e.identityFile, 'bot-datadog', 72);
  const lost = randomUUID();
  e.fake.faults.notFoundSessions.set(lost, Infinity);
  // uploaded 30 h ago: a give-up counted from the upload would come at the restart below (70 h), too soon
  e.fake.addEvents([upload(lost, Date.now() - 30 * 3600_000)]);
  let ahead = 0;
  const clock = () => Date.now() + ahead;
  const start = () =>
    createTeleportSource(e.options({ exitOnLastEvent: false }), spoolDeps(e.spool, e.logs.logger, {}, clock));
  const saved = async (): Promise<{ i: number; t: number; nf?: number } | undefined> => {
    const v = await e.spool.getState(K.session(lost));
    return v === undefined ? undefined : JSON.parse(v);
  };
  const tries = () => e.fake.calls.StreamUnstructuredSessionEvents!.count;

  let source = start();
  await source.start();
  await until(async () => (await saved())?.nf !== undefined, 15_000, 'first NOT_FOUND time saved');
  const first = (await saved())!.nf!;
  await until(() => tries() >= 3, 15_000, 'retried');
  await source.stop();
  assert.equal(source.status().sessionsGivenUp, 0);
  assert.equal((await saved())!.nf, first, 'written once, at the first NOT_FOUND');
  assert.equal((await saved())!.i, 0);

  // restarted 40 h on: not yet 48 h since the first NOT_FOUND, so still retried
  ahead = 40 * 3600_000;
  source = start();
  await source.start();
  const before = tries();
  await until(() => tries() >= before + 2, 15_000, 'retried after the restart');
  assert.equal(source.status().sessionsGivenUp, 0);
  assert.equal((await saved())?.nf, first, 'the first NOT_FOUND time is kept across the restart');
  // 49 h after the first NOT_FOUND (9 h after the restart: a count restarted there would keep waiting)
  ahead = 49 * 3600_000;
  await until(() => source.status().sessionsGivenUp === 1, 15_000, 'given up');
  await source.stop();
  assert.equal(await saved(), undefined);
  assert.equal(keysOf(await drain(e.spool), lost).length, 0);
  const gaveUp = e.logs.lines.find((l) => l.sid === lost && /giving up/.test(String(l.msg)));
  assert.ok(gaveUp, 'the give-up is logged');
  assert.match(String(gaveUp!.msg), /not found.*48 h/);
  assert.equal(gaveUp!.notFoundSince, new Date(first).toISOString());
});

function failedLogin(user: string, t: number) {
  return {
    event: 'user.login',
    code: 'T1000W',
    success: false,
    user,
    method: 'local',
    error: 'invalid credentials',
    uid: randomUUID(),
    time: iso(t),
  };
}

test('N failed logins within the period lock the user (once); fewer, older or dry-run do not', async () => {
  const e = await env();
  const locks = addFakeLockService(e.fake);
  const now = Date.now();
  e.fake.addEvents([
    failedLogin('eve', now - 30_000),
    failedLogin('eve', now - 20_000),
    failedLogin('eve', now - 10_000),
    failedLogin('eve', now - 5_000),
    failedLogin('frank', now - 30_000),
    failedLogin('frank', now - 20_000),
    failedLogin('frank', now - 20_000 - 120_000),
    failedLogin('old', now - 2 * DAY),
    failedLogin('old', now - 2 * DAY + 1),
    failedLogin('old', now - 2 * DAY + 2),
  ]);
  e.fake.faults.failNextCalls.push({ rpc: 'UpsertLock', code: 14, times: 1 });
  const lock = { lockEnabled: true, lockFailedAttemptsCount: 3, lockPeriodMs: 60_000, lockForMs: 3600_000 };
  let source = e.source({ ...lock, apiVersion: '17.2.0' });
  await source.start();
  await within(source.done, 15_000, 'export');
  await source.stop();
  assert.equal(locks.length, 1, JSON.stringify(locks));
  const l = locks[0] as FakeLock;
  assert.equal(l.user, 'eve');
  assert.equal(l.kind, 'lock');
  assert.equal(l.version, 'v2');
  assert.equal(l.name, lockName('eve'));
  assert.equal(l.message, LOCK_MESSAGE);
  assert.ok(l.expires && Math.abs(l.expires.getTime() - (now + 3600_000)) < 120_000);
  assert.equal(e.fake.calls.UpsertLock!.count, 2, 'the injected failure was retried');
  assert.equal(e.fake.calls.UpsertLock!.last!.version, '17.2.0');
  assert.equal(source.status().locksUpserted, 1);

  // forever, and dry run
  const e2 = await env();
  const locks2 = addFakeLockService(e2.fake);
  e2.fake.addEvents([failedLogin('gina', now - 3000), failedLogin('gina', now - 2000)]);
  source = e2.source({ ...lock, lockFailedAttemptsCount: 2, lockForMs: 0 }, { dryRun: true });
  await source.start();
  await within(source.done, 15_000, 'dry run');
  await source.stop();
  assert.equal(locks2.length, 0);
  assert.ok(e2.logs.has(/dry run: would lock/));
  source = e2.source({ ...lock, lockFailedAttemptsCount: 2, lockForMs: 0 });
  await source.start();
  await within(source.done, 15_000, 'real run');
  await source.stop();
  assert.equal(locks2.length, 1);
  assert.equal((locks2[0] as FakeLock).expires, null);
});

test('refresh picks up a rotated identity file: calls keep working after the old certificate expired', async () => {
  const e = await env();
  // a first certificate that expires soon, with room for the first catch-up on a loaded machine (4 s was too tight)
  const short = e.fake.issueClientCert({ user: 'bot-first', ttlHours: 12 / 3600 });
  const expiresAt = new Date(new X509Certificate(short.cert).validTo).getTime();
  fs.writeFileSync(e.identityFile, formatIdentityFile({ key: short.key, cert: short.cert, cas: [e.fake.ca] }));
  const source = e.source({ exitOnLastEvent: false, refreshEnabled: true, refreshIntervalMs: 100 });
  await source.start();
  await until(() => source.status().caughtUp, 10_000, 'caught up with the first identity');
  assert.equal(e.fake.calls.GetEventExportChunks!.last!.user, 'bot-first');

  // a broken file (half written) is refused and the current identity kept
  fs.writeFileSync(e.identityFile, '-----BEGIN RSA PRIVATE KEY-----\nMIIE');
  await until(() => e.logs.has(/identity refresh failed/), 5_000, 'refresh failure logged');
  assert.equal(source.status().identityRefreshedAt, null);

  writeIdentity(e.fake, e.identityFile, 'bot-rotated');
  await until(() => source.status().identityRefreshedAt !== null, 5_000, 'identity reloaded');
  await until(() => Date.now() > expiresAt + 500, 30_000, 'first certificate expired');
  const fresh = [failedLogin('zed', Date.now())];
  e.fake.addEvents(fresh);
  await until(async () => e.spool.stats().records >= 41, 10_000, 'new events shipped with the rotated identity');
  await source.stop();
  const records = await drain(e.spool);
  assert.ok(records.some((r) => r.record.uid === fresh[0]!.uid));
  assert.equal(e.fake.calls.GetEventExportChunks!.last!.user, 'bot-rotated');
  assert.equal(source.status().identity!.user, 'bot-rotated');
  for (const l of e.logs.lines)
    assert.ok(!JSON.stringify(l).includes('PRIVATE KEY-----\nMII'), 'no key material in logs');
});
