// `start --dry-run` with the built-in poller, through the cli, against the fake Auth Service: each batch is
// routed by the config's match rules and logged (routed sample, shipped and dropped counts); nothing reaches the
// intake and no cursor is stored. beside a running forwarder on the same storage it starts fresh from start-time
// with one warning instead of failing on leveldb's lock, and leaves the running one alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeIntake, type FakeIntake } from '../../src/fakes/intake.js';
import { generatedDataset, type FakeTeleport, type FakeDataset } from '../../src/fakes/teleport.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';
import { runForwarder, waitFor, writeIngestConfig, type RunningForwarder } from '../helpers/forwarder.js';
import { MtlsClient, writeTlsFiles } from '../helpers/mtls.js';
import { awayFromUtcMidnight } from '../helpers/clock.js';
import { pollerEnv } from '../helpers/poller-env.js';
import { unusedPort } from '../helpers/ports.js';

await awayFromUtcMidnight();

const API_KEY = 'dryr0123456789abcdef0123456789abc';
const DAY = 86_400_000;

function dataset(eventsPerDate: number, sessions: { count: number; eventsPerSession: number }): FakeDataset {
  const today = Date.parse(new Date().toISOString().slice(0, 10));
  return generatedDataset({
    dates: { start: new Date(today - DAY), days: 2 },
    eventsPerDate,
    chunksPerDate: 3,
    sessions,
    seed: 23,
  });
}

/** audit events go out with the rule's source, service and tags; session events are dropped by a null rule */
function forwarderToml(dir: string, fake: FakeTeleport, startTime: string): string {
  const client = fake.issueClientCert({ user: 'teleport-event-handler', ttlHours: 24 });
  writeFileSync(join(dir, 'identity'), formatIdentityFile({ key: client.key, cert: client.cert, cas: [fake.ca] }), {
    mode: 0o600,
  });
  const file = join(dir, 'forwarder.toml');
  writeFileSync(
    file,
    `storage = "${join(dir, 'storage')}"
start-time = "${startTime}"
poll-interval = "200ms"
skip-session-types = []

[ingest]
enabled = false

[teleport]
addr = "${fake.address}"
identity = "${join(dir, 'identity')}"

[[match]]
pattern = "session.**"
type = "null"

[[match]]
pattern = "events.log"
source = "teleport-audit"
service = "audit-trail"
tags = ["env:dry-run-test"]
`,
  );
  return file;
}

async function env(t: import('node:test').TestContext, ds: FakeDataset) {
  const e = await pollerEnv(t, ds, API_KEY);
  return { ...e, config: forwarderToml(e.dir, e.fake, e.startTime), storage: join(e.dir, 'storage') };
}

const start = (config: string, intake: FakeIntake, extra: string[] = []) =>
  runForwarder(
    ['start', '--config', config, '--datadog-url', intake.url, '--datadog-retry-initial', '50ms', ...extra],
    { DD_API_KEY: API_KEY },
    { waitForIngest: false },
  );

/** the exit code, once the process exited and all its output was read */
async function finished(fw: RunningForwarder): Promise<number | string> {
  const code = await fw.exited;
  for (const out of [fw.proc.stdout!, fw.proc.stderr!]) if (!out.readableEnded) await once(out, 'end');
  return code;
}

/** the dry run's per-batch lines for the poller, summed */
function dryRunTotals(fw: RunningForwarder) {
  const lines = fw.logs.filter((l) => l.msg === 'dry run: would ship records' && l.source === 'teleport');
  return {
    lines,
    records: lines.reduce((n, l) => n + Number(l.records), 0),
    dropped: lines.reduce((n, l) => n + Number(l.dropped), 0),
    samples: lines.filter((l) => l.sample).map((l) => l.sample as Record<string, unknown>),
  };
}

const sessionEventCount = (ds: FakeDataset) => ds.sessionIds.reduce((n, sid) => n + ds.recording(sid)!.length, 0);
const uidsOf = (intake: FakeIntake) => intake.logs.map((l) => String(l.uid));
const datasetUids = (ds: FakeDataset) =>
  Array.from({ length: ds.events.length }, (_, i) => String(ds.events.eventAt(i).json.uid));

function assertOnce(got: string[], want: string[], what: string): void {
  const dups = got.filter((u, i) => got.indexOf(u) !== i);
  assert.deepEqual(dups.slice(0, 3), [], `${what}: duplicates`);
  assert.deepEqual([...got].sort(), [...want].sort(), what);
}

const liveEvent = (fake: FakeTeleport, uid: string) => ({
  event: 'user.login',
  code: 'T1000I',
  success: true,
  user: 'bob',
  method: 'local',
  uid,
  time: new Date().toISOString(),
  cluster_name: fake.clusterName,
  ei: 0,
});

test('dry run of the poller logs the routed logs and what the rules drop, ships nothing and stores nothing', async (t) => {
  const ds = dataset(60, { count: 2, eventsPerSession: 40 });
  const { fake, intake, config, storage } = await env(t, ds);

  const dry = await start(config, intake, ['--dry-run', '--exit-on-last-event']);
  assert.equal(await finished(dry), 0, dry.stderr());
  const totals = dryRunTotals(dry);
  assert.equal(totals.records, ds.events.length, 'every audit event would be shipped');
  assert.equal(totals.dropped, sessionEventCount(ds), 'the null rule drops every session event');
  assert.ok(totals.samples.length > 0, 'a routed sample is logged');
  for (const s of totals.samples) {
    assert.equal(s.ddsource, 'teleport-audit');
    assert.equal(s.service, 'audit-trail');
    assert.match(String(s.ddtags), /env:dry-run-test/);
  }
  assert.ok(totals.lines.length < ds.events.length, 'one line per batch, not per record');
  assert.ok(
    dry.logs.some((l) => /holds no spool yet; the dry run starts from start-time/.test(String(l.msg))),
    'says it starts fresh',
  );
  assert.equal(intake.requests, 0, 'nothing sent to the intake');
  assert.equal(existsSync(storage), false, 'the dry run created no storage');

  // a normal run exports everything: the dry run moved no cursor
  const real = await start(config, intake, ['--exit-on-last-event']);
  assert.equal(await real.exited, 0, real.stderr());
  assertOnce(uidsOf(intake), datasetUids(ds), 'the normal run after the dry run');
  const shipped = intake.logs[0]!;
  assert.equal(shipped.ddsource, 'teleport-audit', 'the dry run showed what a real run ships');
  assert.equal(shipped.service, 'audit-trail');

  // a dry run on a storage with cursors reads them: only the events since would be shipped; it stores nothing
  fake.addEvents([liveEvent(fake, 'new-1'), liveEvent(fake, 'new-2')]);
  const dry2 = await start(config, intake, ['--dry-run', '--exit-on-last-event']);
  assert.equal(await finished(dry2), 0, dry2.stderr());
  assert.equal(dryRunTotals(dry2).records, 2, 'the dry run continues from the stored cursors');
  const read = dry2.logs.find((l) =>
    /^dry run: read the poller's cursors from .* and closed it; the dry run writes nothing$/.test(String(l.msg)),
  );
  assert.ok(read && Number(read.cursors) > 0, JSON.stringify(read));
  assert.equal(intake.logs.length, ds.events.length, 'the second dry run sent nothing');

  const real2 = await start(config, intake, ['--exit-on-last-event']);
  assert.equal(await real2.exited, 0, real2.stderr());
  assertOnce(uidsOf(intake), [...datasetUids(ds), 'new-1', 'new-2'], 'the normal run after the second dry run');
});

test('dry run beside a running forwarder on the same storage reads from now (or a start-time given for it) and disturbs nothing', async (t) => {
  const ds = dataset(40, { count: 0, eventsPerSession: 0 });
  const { fake, intake, config, storage } = await env(t, ds);
  // the same admin port too, as with one config file: the dry run goes on without the admin API
  const admin = ['--admin-port', String(await unusedPort())];
  const running = await start(config, intake, admin);
  t.after(() => running.stop('SIGKILL'));
  await waitFor(() => intake.logs.length >= ds.events.length, 'the running forwarder shipped the history');

  const before = Date.now();
  const dry = await start(config, intake, ['--dry-run', '--exit-on-last-event', ...admin]);
  assert.equal(await finished(dry), 0, dry.stderr());
  const after = Date.now();
  assert.ok(
    dry.logs.some(
      (l) =>
        l.level === 'warn' &&
        /^the admin port is in use \(the running forwarder\?\): the dry run goes on without the admin API$/.test(
          String(l.msg),
        ),
    ),
  );
  const warnings = dry.logs.filter((l) => l.level === 'warn' && /is in use by a running forwarder/.test(String(l.msg)));
  assert.equal(warnings.length, 1, JSON.stringify(dry.logs.filter((l) => l.level === 'warn' || l.level === 'error')));
  assert.equal(warnings[0]!.storage, storage);
  assert.match(
    String(warnings[0]!.msg),
    /its cursors cannot be read: the dry run reads Teleport from now \(give --start-time to look further back\), and the dry run writes nothing/,
  );
  // the generated dataset spreads today's events over the whole day: those still ahead are "from now"
  const since = (t: number) => datasetTimes(ds).filter((x) => x >= t).length;
  const fromNow = dryRunTotals(dry).records;
  assert.ok(
    fromNow <= since(before) && fromNow >= since(after) && fromNow < ds.events.length,
    `${fromNow}: not the whole history again, from now`,
  );
  // a start-time given for the dry run: read from there
  const given = await start(config, intake, [
    '--dry-run',
    '--exit-on-last-event',
    '--start-time',
    new Date(Date.parse(ds.chunks[0]!.date)).toISOString(),
  ]);
  assert.equal(await finished(given), 0, given.stderr());
  assert.ok(given.logs.some((l) => /reads Teleport from the start-time given/.test(String(l.msg))));
  assert.equal(dryRunTotals(given).records, ds.events.length, 'the history from the start-time given');
  assert.equal(intake.logs.length, ds.events.length, 'the dry runs shipped nothing');

  // a normal start on the same storage is still refused
  const second = await start(config, intake, ['--exit-on-last-event']);
  assert.notEqual(await finished(second), 0);
  assert.match(second.stderr(), /is in use by another teleport-datadog-forwarder/);

  // the running forwarder goes on as before
  assert.equal(running.proc.exitCode, null, 'still running');
  fake.addEvents([liveEvent(fake, 'after-dry-run')]);
  await waitFor(
    () => intake.logs.some((l) => l.uid === 'after-dry-run'),
    'a new event shipped by the running forwarder',
  );
  running.proc.kill('SIGTERM');
  assert.equal(await finished(running), 0, running.stderr());
  assert.deepEqual(
    running.logs.filter((l) => l.level === 'error' || l.level === 'fatal'),
    [],
    'no errors in the running forwarder',
  );
  assertOnce(uidsOf(intake), [...datasetUids(ds), 'after-dry-run'], 'everything the running forwarder shipped');
});

test('dry run of the ingest beside a running forwarder: no spool needed; shipped, dropped and rejected per request', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-dry-ingest-'));
  const tls = writeTlsFiles(dir);
  const intake = await startFakeIntake({ apiKeys: [API_KEY] });
  const config = writeIngestConfig(dir, tls, intake.url, {
    extra: `
[[match]]
pattern = "debug.log"
type = "null"

[[match]]
pattern = "test.log"
source = "teleport"
service = "audit-trail"`,
  });
  const running = await runForwarder(['start', '--config', config], { DD_API_KEY: API_KEY });
  const dry = await runForwarder(['start', '--config', config, '--dry-run', '--routing-unmatched', 'reject']);
  const client = new MtlsClient(dry.port!, tls);
  t.after(async () => {
    client.close();
    await dry.stop('SIGKILL');
    await running.stop('SIGKILL');
    await intake.close();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.ok(dry.logs.some((l) => l.level === 'warn' && /is in use by a running forwarder/.test(String(l.msg))));
  // logged just after the ingest listens: read from the child's stdout a little later
  await waitFor(
    () =>
      dry.logs.some(
        (l) => l.level === 'warn' && /the ingest logs what it would ship and answers 503/.test(String(l.msg)),
      ),
    'the 503 warning',
  );

  const ev = (uid: string) => ({ event: 'user.login', code: 'T1000I', uid, time: new Date().toISOString() });
  // a 200 would tell teleport-event-handler the events are safe: the dry run keeps nothing, so it says 503
  const kept = await client.post('/test.log', JSON.stringify([ev('a'), ev('b')]));
  assert.equal(kept.status, 503);
  assert.ok(Number(kept.headers['retry-after']) >= 1);
  assert.match(kept.body, /dry run: the records were routed and logged but not kept, so they are not acknowledged/);
  assert.equal(
    (await client.post('/debug.log', JSON.stringify(ev('c')))).status,
    200,
    'all dropped by the rules: a real run would not keep them either',
  );
  const refused = await client.post('/other.log', JSON.stringify(ev('d')));
  assert.equal(refused.status, 400, 'unmatched = reject refuses the request in dry run too');
  // logged before each answer, read from the child's stdout a little later
  const dryRunLines = () => dry.logs.filter((l) => l.source === 'http' && /^dry run: /.test(String(l.msg)));
  await waitFor(() => dryRunLines().length >= 3, 'a dry-run line per request');
  const lines = dryRunLines();
  assert.equal(lines.length, 3, JSON.stringify(lines));
  assert.deepEqual([lines[0]!.records, lines[0]!.dropped], [2, 0]);
  assert.equal(lines[0]!.sample.service, 'audit-trail');
  assert.equal(lines[0]!.sample.uid, 'a');
  assert.deepEqual([lines[1]!.records, lines[1]!.dropped], [0, 1]);
  assert.equal(lines[1]!.sample, undefined);
  assert.equal(lines[2]!.rejected, 1);
  assert.match(String(lines[2]!.reason), /no <match> rule matches tag "other\.log"/);
  assert.match(String(lines[2]!.msg), /nothing of it would be shipped/);

  assert.equal(intake.requests, 0, 'the dry run sent nothing, and the running forwarder got nothing to send');
  assert.equal(await dry.stop(), 0, dry.stderr());
  assert.equal(running.proc.exitCode, null, 'the running forwarder is still up');
  assert.equal(await running.stop(), 0, running.stderr());
});

function datasetTimes(ds: FakeDataset): number[] {
  return Array.from({ length: ds.events.length }, (_, i) => ds.events.timeAt(i));
}
