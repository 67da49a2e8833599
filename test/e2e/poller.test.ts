// the built-in poller end to end, as a user runs it: `start` with a teleport-event-handler.toml against the fake
// Auth Service, shipping to the local intake. every event arrives once, across kill -9, legacy fallback and
// sessions; failed logins lock the user; SIGHUP re-reads a rotated identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeIntake } from '../../src/fakes/intake.js';
import { generatedDataset, type FakeTeleport, type FakeDataset } from '../../src/fakes/teleport.js';
import { addFakeLockService } from '../../src/fakes/teleport-lock.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';
import { runForwarder, waitFor } from '../helpers/forwarder.js';
import { awayFromUtcMidnight } from '../helpers/clock.js';
import { pollerEnv } from '../helpers/poller-env.js';

await awayFromUtcMidnight();

const API_KEY = 'poll0123456789abcdef0123456789abc';
const DAY = 86_400_000;

function dataset(days: number, eventsPerDate: number, sessions = { count: 2, eventsPerSession: 150 }): FakeDataset {
  const today = Date.parse(new Date().toISOString().slice(0, 10));
  return generatedDataset({
    dates: { start: new Date(today - (days - 1) * DAY), days },
    eventsPerDate,
    chunksPerDate: 3,
    sessions,
    seed: 11,
  });
}

/** a teleport-event-handler.toml, as its `configure` writes it, pointed at the fake */
function handlerToml(dir: string, fake: FakeTeleport, startTime: string, extra = ''): string {
  const client = fake.issueClientCert({ user: 'teleport-event-handler', ttlHours: 24 });
  writeFileSync(join(dir, 'identity'), formatIdentityFile({ key: client.key, cert: client.cert, cas: [fake.ca] }), {
    mode: 0o600,
  });
  const file = join(dir, 'teleport-event-handler.toml');
  writeFileSync(
    file,
    `storage = "./storage"
timeout = "10s"
batch = 50
window-size = "24h"
concurrency = 3
types = ""
skip-event-types = []
skip-session-types = []
start-time = "${startTime}"
${extra}
[forward.fluentd]
ca = "/home/bob/event-handler/ca.crt"
cert = "/home/bob/event-handler/client.crt"
key = "/home/bob/event-handler/client.key"
url = "https://fluentd.example.com:8888/test.log"
session-url = "https://fluentd.example.com:8888/session"

[teleport]
addr = "${fake.address}"
identity = "identity"
`,
  );
  return file;
}

/** what should arrive: tag|uid for audit events, tag|ei for session events */
function expected(ds: FakeDataset): string[] {
  const out: string[] = [];
  for (let i = 0; i < ds.events.length; i++) out.push(`test.log|${ds.events.eventAt(i).json.uid}`);
  for (const sid of ds.sessionIds) {
    const rec = ds.recording(sid)!;
    for (let i = 0; i < rec.length; i++) out.push(`session.${sid}.log|${rec.eventAt(i).index}`);
  }
  return out;
}

function receivedKeys(intake: FakeIntake): string[] {
  return intake.logs.map((l: any) => (l.tag?.startsWith('session.') ? `${l.tag}|${l.ei}` : `test.log|${l.uid}`));
}

function assertExactlyOnce(intake: FakeIntake, want: string[], t: import('node:test').TestContext) {
  const got = receivedKeys(intake);
  const counts = new Map<string, number>();
  for (const k of got) counts.set(k, (counts.get(k) ?? 0) + 1);
  const missing = want.filter((k) => !counts.has(k));
  const dups = [...counts.values()].filter((n) => n > 1).length;
  t.diagnostic(`expected ${want.length}, received ${got.length}, missing ${missing.length}, duplicated ${dups}`);
  assert.equal(missing.length, 0, `missing e.g. ${missing.slice(0, 3).join(', ')}`);
  assert.equal(dups, 0, 'duplicates');
  assert.equal(got.length, want.length);
}

const env = (t: import('node:test').TestContext, ds: FakeDataset) => pollerEnv(t, ds, API_KEY);

const start = (config: string, intake: FakeIntake, extra: string[] = []) =>
  runForwarder(
    ['start', '--config', config, '--datadog-url', intake.url, '--datadog-retry-initial', '50ms', ...extra],
    { DD_API_KEY: API_KEY },
    { waitForIngest: false },
  );

test('teleport-event-handler.toml as it is: every audit event and session event arrives once, tagged like the Go handler', async (t) => {
  const ds = dataset(2, 400);
  const { dir, fake, intake, startTime } = await env(t, ds);
  const fw = await start(handlerToml(dir, fake, startTime), intake, ['--exit-on-last-event']);
  assert.equal(await fw.exited, 0, fw.stderr());
  assertExactlyOnce(intake, expected(ds), t);
  assert.ok(fake.calls.ExportUnstructuredEvents!.count > 0, 'the bulk export path was used');
  const login = intake.logs.find((l: any) => l.event === 'user.login') as any;
  assert.equal(login.ddsource, 'teleport', 'default rule');
});

test('kill -9 during export, then restart: no event lost, none handed off twice', async (t) => {
  const ds = dataset(3, 500);
  const { dir, fake, intake, startTime } = await env(t, ds);
  const config = handlerToml(dir, fake, startTime);
  // the intake is down during the first run, so every duplicate could only come from the poller's hand-off
  await intake.setDown(true);
  fake.faults.slowStreamMs = 1;
  const first = await start(config, intake);
  const admin = await first.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('admin server listening'));
  await waitFor(async () => {
    const s = (await (await fetch(`http://127.0.0.1:${admin.port}/status`)).json()) as any;
    return (s.teleport?.eventsEmitted ?? 0) >= 400;
  }, 'some events handed off');
  first.proc.kill('SIGKILL');
  await first.exited;
  fake.faults.slowStreamMs = 0;
  await intake.setDown(false);
  const second = await start(config, intake, ['--exit-on-last-event']);
  assert.equal(await second.exited, 0, second.stderr());
  assertExactlyOnce(intake, expected(ds), t);
});

test('kill -9 mid-recording, then restart: the recording resumes from its saved index, each event once', async (t) => {
  const ds = dataset(1, 100, { count: 1, eventsPerSession: 5000 });
  const sid = ds.sessionIds[0]!;
  const length = ds.recording(sid)!.length;
  const { dir, fake, intake, startTime } = await env(t, ds);
  const config = handlerToml(dir, fake, startTime);
  // intake down in the first run: a batch datadog took but the spool had not yet deleted would come back after
  // kill -9 (at-least-once delivery), so with it down every duplicate could only come from the poller's hand-off
  await intake.setDown(true);
  fake.faults.slowStreamMs = 1;
  // the recording goes silent past this many events: the kill always lands mid-way, however slow the machine
  const cap = 3000;
  fake.faults.stallAfter = { messages: cap, times: 1, rpcs: ['StreamUnstructuredSessionEvents'] };
  const first = await start(config, intake);
  const admin = await first.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('admin server listening'));
  // with one recording, the session events written to the spool are its saved index (ei runs 0, 1, ...; each
  // batch moves the index in the same commit as its events); more than one batch, so it is well under way
  let saved = 0;
  await waitFor(async () => {
    const s = (await (await fetch(`http://127.0.0.1:${admin.port}/status`)).json()) as any;
    saved = s.teleport?.sessionEventsEmitted ?? 0;
    return saved > 500 && s.teleport.sessionsActive === 1;
  }, 'the recording part read');
  first.proc.kill('SIGKILL');
  await first.exited;
  assert.ok(saved < length, `the recording was still being read (${saved} of ${length})`);
  fake.faults.slowStreamMs = 0;
  fake.faults.stallAfter = undefined;
  fake.resetCalls();
  await intake.setDown(false);
  const second = await start(config, intake, ['--exit-on-last-event']);
  assert.equal(await second.exited, 0, second.stderr());
  const streams = fake.calls
    .StreamUnstructuredSessionEvents!.recent.map(
      (c) => c.request as { session_id: string; start_index: number | string },
    )
    .filter((r) => r.session_id === sid);
  assert.ok(streams.length > 0, 'the recording was streamed again');
  const resumedAt = Number(streams[0]!.start_index);
  t.diagnostic(`killed with ${saved} of ${length} events written; resumed at ${resumedAt}`);
  assert.ok(
    resumedAt >= saved && resumedAt <= cap,
    `the restart resumed from the saved index (${saved}..${cap}), not from ${resumedAt}`,
  );
  assertExactlyOnce(intake, expected(ds), t);
});

test('an older Auth Service without the export API: the legacy search delivers everything once', async (t) => {
  const ds = dataset(2, 300, { count: 1, eventsPerSession: 50 });
  const { dir, fake, intake, startTime } = await env(t, ds);
  fake.faults.unimplementedExport = true;
  const fw = await start(handlerToml(dir, fake, startTime), intake, ['--exit-on-last-event']);
  assert.equal(await fw.exited, 0, fw.stderr());
  assertExactlyOnce(intake, expected(ds), t);
  assert.ok(fake.calls.GetUnstructuredEvents!.count > 0);
});

test('legacy search on a backend comparing whole seconds, start-time at .500: each midnight event arrives once', async (t) => {
  const ds = dataset(3, 40, { count: 0, eventsPerSession: 0 });
  const { dir, fake, intake } = await env(t, ds);
  fake.faults.unimplementedExport = true;
  fake.faults.searchWholeSeconds = true;
  const today = Date.parse(new Date().toISOString().slice(0, 10));
  // an event on each window boundary: with windows from x.5 s, two windows held the same second
  const midnights = [3, 2, 1, 0].map((d) => today - d * DAY).filter((ms) => ms < Date.now() - 1000);
  fake.addEvents(
    midnights.map((ms, i) => ({
      event: 'user.login',
      code: 'T1000I',
      user: 'alice',
      cluster_name: fake.clusterName,
      uid: `midnight-${i}`,
      time: new Date(ms).toISOString(),
      ei: 0,
    })),
  );
  const startMs = today - 3 * DAY + 500;
  const fw = await start(handlerToml(dir, fake, new Date(startMs).toISOString()), intake, ['--exit-on-last-event']);
  assert.equal(await fw.exited, 0, fw.stderr());
  // the first midnight is before the start time: not shipped, though its whole second is searched
  const shipped = midnights.flatMap((ms, i) => (ms >= startMs ? [`test.log|midnight-${i}`] : []));
  assert.ok(shipped.length >= 2, 'boundaries between windows are covered');
  assertExactlyOnce(intake, [...expected(ds), ...shipped], t);
  assert.ok(fake.calls.GetUnstructuredEvents!.count > 0, 'the legacy search was used');
});

test('failed logins lock the user through UpsertLock', async (t) => {
  const ds = dataset(1, 50, { count: 0, eventsPerSession: 0 });
  const { dir, fake, intake, startTime } = await env(t, ds);
  const locks = addFakeLockService(fake);
  const now = Date.now();
  fake.addEvents(
    Array.from({ length: 4 }, (_, i) => ({
      event: 'user.login',
      code: 'T1000W',
      success: false,
      user: 'mallory',
      method: 'local',
      error: 'invalid credentials',
      cluster_name: fake.clusterName,
      uid: `fail-${i}`,
      time: new Date(now - 10_000 + i * 1000).toISOString(),
      ei: 0,
    })),
  );
  const fw = await start(handlerToml(dir, fake, startTime), intake, [
    '--exit-on-last-event',
    '--lock-enabled',
    '--lock-failed-attempts-count',
    '3',
    '--lock-period',
    '1m',
  ]);
  assert.equal(await fw.exited, 0, fw.stderr());
  assert.equal(locks.length, 1, 'one lock');
  assert.equal(locks[0]!.user, 'mallory');
  assert.equal(locks[0]!.expires, null, 'lock-for 0: until removed');
  assert.equal(intake.logs.filter((l: any) => l.user === 'mallory').length, 4, 'the failed logins are shipped too');
});

test('SIGHUP re-reads a rotated identity file without a restart', async (t) => {
  const ds = dataset(1, 30, { count: 0, eventsPerSession: 0 });
  const { dir, fake, intake, startTime } = await env(t, ds);
  const fw = await start(handlerToml(dir, fake, startTime), intake);
  t.after(() => fw.stop());
  await waitFor(() => intake.logs.length >= 30, 'the first events');
  const next = fake.issueClientCert({ user: 'teleport-event-handler', ttlHours: 48 });
  writeFileSync(join(dir, 'identity'), formatIdentityFile({ key: next.key, cert: next.cert, cas: [fake.ca] }), {
    mode: 0o600,
  });
  fw.proc.kill('SIGHUP');
  const line = await fw.waitForLog((l) => l.msg === 'teleport identity reloaded');
  assert.ok(Date.parse(line.expires) > Date.now() + 30 * 3_600_000, 'the new identity (48 h) is in use');
  const live = {
    event: 'user.login',
    code: 'T1000I',
    success: true,
    user: 'bob',
    uid: 'after-rotation',
    time: new Date().toISOString(),
    cluster_name: fake.clusterName,
    ei: 0,
  };
  fake.addEvents([live]);
  await waitFor(
    () => intake.logs.some((l: any) => l.uid === 'after-rotation'),
    'an event read with the new identity',
    90_000,
  );
});

test('--exit-on-last-event with a role that may not read the audit log exits 1, saying which rule is missing', async (t) => {
  const ds = dataset(1, 20, { count: 0, eventsPerSession: 0 });
  const { dir, fake, intake, startTime } = await env(t, ds);
  fake.faults.failNextCalls.push({
    rpc: 'GetEventExportChunks',
    code: 7,
    times: Infinity,
    details: 'access denied to perform action "list" on "event"',
  });
  const fw = await start(handlerToml(dir, fake, startTime), intake, ['--exit-on-last-event']);
  assert.equal(await fw.exited, 1, fw.stderr());
  const failed = fw.logs.find((l) => l.msg === 'the teleport poller failed');
  assert.ok(failed, JSON.stringify(fw.logs.slice(-5)));
  assert.match(
    String(failed.err),
    /teleport denied "teleport-event-handler" access to the audit log .*times in a row: its role needs `event` list, read/,
  );
  assert.equal(intake.logs.length, 0);
});

test('routing.unmatched = "reject" with the poller: records no rule matches are dropped and counted, the export goes on', async (t) => {
  const ds = dataset(1, 40, { count: 1, eventsPerSession: 30 });
  const { dir, fake, intake, startTime } = await env(t, ds);
  const rules = `[routing]
unmatched = "reject"

[[match]]
pattern = "test.log"
service = "audit"
`;
  const fw = await start(handlerToml(dir, fake, startTime, rules), intake, ['--exit-on-last-event']);
  assert.equal(await fw.exited, 0, fw.stderr());
  assert.equal(intake.logs.length, ds.events.length, 'every audit event, and no session event');
  assert.ok(
    intake.logs.every((l: any) => l.service === 'audit'),
    JSON.stringify(intake.logs[0]),
  );
  assert.ok(
    fw.logs.some((l) =>
      /the poller has no client to refuse, so its records no rule matches are dropped and counted/.test(String(l.msg)),
    ),
    JSON.stringify(fw.logs.slice(0, 6)),
  );
  assert.ok(
    fw.logs.some(
      (l) => l.msg === 'records matched no <match> rule and were dropped' && /^session\./.test(String(l.sampleTag)),
    ),
    JSON.stringify(fw.logs.filter((l) => /match/.test(String(l.msg)))),
  );
});
