// the teleport poller, through the cli, against the fake auth service: streams cut mid-way (UNAVAILABLE), the auth
// service restarted, the forwarder killed -9 while exporting; then expired identities: at start (refresh off: exit
// 2; on: waited out), and the identity in use expiring mid-run, then renewed. "acknowledged" for the poller means
// its cursor moved, which happens in the same synced batch as the events it covers, so every event of the dataset
// (audit log and recordings, print events included) must reach the intake; duplicates are counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeIntake, type FakeIntake } from '../../src/fakes/intake.js';
import {
  generatedDataset,
  sampleEvents,
  startFakeTeleport,
  type FakeDataset,
  type FakeTeleport,
} from '../../src/fakes/teleport.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';
import { waitFor } from '../helpers/forwarder.js';
import { MtlsClient, writeTlsFiles } from '../helpers/mtls.js';
import { startForwarder, type Forwarder } from '../helpers/load.js';
import { cliCommand } from '../helpers/paths.js';
import { createPrng, seedFromEnv } from '../helpers/prng.js';
import { awayFromUtcMidnight } from '../helpers/clock.js';
import { datasetKeys, keyOf } from '../helpers/poller-env.js';

await awayFromUtcMidnight();

const API_KEY = 'telepo0123456789abcdef0123456789';
const DAY = 86_400_000;

interface TeleportRig {
  dir: string;
  teleport: FakeTeleport;
  intake: FakeIntake;
  counts: Map<string, number>;
  identity: string;
  config: string;
  start(o?: { ingest?: boolean }): Promise<Forwarder>;
  /** writes the identity file as tbot does (a new file renamed over it); returns the certificate's expiry */
  writeIdentity(o?: { ttlHours?: number; notBefore?: Date }): Date;
  /** one change to the config file, for the next start */
  editConfig(from: string, to: string): void;
}

async function teleportRig(
  t: { after(fn: () => unknown): void },
  dataset: FakeDataset,
  start: Date,
  extra = '',
): Promise<TeleportRig> {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-tp-fault-'));
  const teleport = await startFakeTeleport({ dataset });
  const counts = new Map<string, number>();
  const intake = await startFakeIntake({
    apiKeys: [API_KEY],
    keepLogs: false,
    onLogs: (logs) => {
      for (const l of logs) counts.set(keyOf(l), (counts.get(keyOf(l)) ?? 0) + 1);
    },
  });
  const identity = join(dir, 'identity');
  const writeIdentity = (o: { ttlHours?: number; notBefore?: Date } = {}): Date => {
    const { cert, key } = teleport.issueClientCert({
      user: 'teleport-event-handler',
      ttlHours: o.ttlHours ?? 48,
      ...(o.notBefore ? { notBefore: o.notBefore } : {}),
    });
    writeFileSync(`${identity}.tmp`, formatIdentityFile({ key, cert, cas: [teleport.ca] }), { mode: 0o600 });
    renameSync(`${identity}.tmp`, identity);
    return new Date(new X509Certificate(cert).validTo);
  };
  writeIdentity();
  const config = join(dir, 'forwarder.toml');
  writeFileSync(
    config,
    `
storage = "${join(dir, 'storage')}"
start-time = "${start.toISOString()}"
poll-interval = "1s"
skip-session-types = []
${extra}
[teleport]
addr = "${teleport.address}"
identity = "${identity}"
[ingest]
enabled = false
[datadog]
url = "${intake.url}"
batch-max-entries = 200
[[match]]
pattern = "**"
source = "teleport"
include-tag-key = true
`,
  );
  const started: Forwarder[] = [];
  t.after(async () => {
    for (const fw of started) if (fw.proc.exitCode === null && fw.proc.signalCode === null) fw.proc.kill('SIGKILL');
    await intake.close();
    await teleport.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    teleport,
    intake,
    counts,
    identity,
    config,
    writeIdentity,
    async start(o = {}) {
      const fw = await startForwarder(config, { DD_API_KEY: API_KEY }, [], { ingest: o.ingest ?? false });
      started.push(fw);
      return fw;
    },
    editConfig(from, to) {
      const text = readFileSync(config, 'utf8');
      assert.ok(text.includes(from), `the config holds ${from}`);
      writeFileSync(config, text.replace(from, to));
    },
  };
}

/** refresh on, every second: what tbot users set */
const REFRESH = '[teleport]\nrefresh.enabled = true\nrefresh.interval = "1s"';

/** live audit events, `<phase>-<uid>`, timed a minute ago (today, in the polled date) */
function liveEvents(phase: string, count: number): ReturnType<typeof sampleEvents> {
  return sampleEvents({ count, startMs: Date.now() - 60_000, stepMs: 10 }).map((e) => ({
    ...e,
    uid: `${phase}-${String(e.uid)}`,
  }));
}

const auditKeys = (events: ReturnType<typeof sampleEvents>) => events.map((e) => keyOf({ tag: 'events.log', ...e }));

function tallyKeys(
  expected: Set<string>,
  counts: Map<string, number>,
): { lost: string[]; duplicated: number; unexpected: number } {
  const lost = [...expected].filter((k) => !counts.has(k));
  let duplicated = 0;
  let unexpected = 0;
  for (const [k, n] of counts) {
    duplicated += n - 1;
    if (!expected.has(k)) unexpected++;
  }
  return { lost, duplicated, unexpected };
}

test(
  'poller: streams cut, the auth service restarted, the forwarder killed -9 twice: every event delivered',
  { timeout: 150_000 },
  async (t) => {
    const prng = createPrng(seedFromEnv(Date.now()));
    t.diagnostic(`seed ${prng.seed} (TDF_SEED=${prng.seed} replays it)`); // printed first: a failing run ends before the figures
    const first = new Date(Date.parse(new Date().toISOString().slice(0, 10)) - DAY);
    const dataset = generatedDataset({
      dates: { start: first, days: 2 },
      eventsPerDate: 1500,
      chunksPerDate: 4,
      sessions: { count: 4, eventsPerSession: 60 },
      seed: 11,
    });
    const rig = await teleportRig(t, dataset, first);
    const expected = datasetKeys(dataset);
    rig.teleport.faults.slowStreamMs = 6;
    rig.teleport.faults.unavailableAfter = { messages: 150, times: 6 };
    const moments: string[] = [];
    for (let round = 0; round < 2; round++) {
      const fw = await rig.start();
      const a = prng.int(300, 1500);
      await sleep(a);
      if (round === 0) {
        await rig.teleport.restart({ downMs: 1500 });
        moments.push(`auth restart after ${a} ms (${rig.counts.size} delivered)`);
        await sleep(prng.int(500, 2000));
      }
      fw.proc.kill('SIGKILL');
      await fw.exited;
      moments.push(`kill -9 (${rig.counts.size} delivered)`);
    }
    rig.teleport.faults.slowStreamMs = 0;
    const fw = await rig.start();
    await waitFor(
      () => [...expected].every((k) => rig.counts.has(k)),
      `all ${expected.size} events delivered`,
      120_000,
    );
    await waitFor(async () => (await fw.getJson('/status')).spool.records === 0, 'spool drained');
    const status = await fw.getJson('/status');
    assert.equal(await fw.stop(), 0);
    const tl = tallyKeys(expected, rig.counts);
    t.diagnostic(
      `figures: scenario="teleport poller: UNAVAILABLE streams, auth restart, kill -9 x2" acknowledged=${expected.size} delivered=${expected.size - tl.lost.length} lost=${tl.lost.length} duplicated=${tl.duplicated} unexpected=${tl.unexpected} seed=${prng.seed} events="${moments.join('; ')}" export_calls=${rig.teleport.calls.ExportUnstructuredEvents?.count}`,
    );
    assert.deepEqual(tl.lost, []);
    assert.equal(tl.unexpected, 0);
    assert.equal(status.teleport.state, 'running');
  },
);

test(
  'poller: with refresh off, an expired identity at start is a clear error (exit 2); with refresh, an expired replacement is ignored and a valid one picked up',
  { timeout: 120_000 },
  async (t) => {
    const first = new Date(Date.parse(new Date().toISOString().slice(0, 10)) - DAY);
    const dataset = generatedDataset({
      dates: { start: first, days: 1 },
      eventsPerDate: 200,
      chunksPerDate: 2,
      seed: 12,
    });
    const rig = await teleportRig(t, dataset, first, '');
    rig.writeIdentity({ notBefore: new Date(Date.now() - 5 * 3600_000), ttlHours: 1 });
    for (let run = 0; run < 2; run++) {
      const r = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'start', '--config', rig.config], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, TDF_ADMIN_PORT: '0', DD_API_KEY: API_KEY },
        encoding: 'utf8',
        timeout: 30_000,
      });
      t.diagnostic(`expired identity, run ${run}: exit ${r.status}: ${r.stderr.trim()}`);
      assert.equal(r.status, 2, r.stderr);
      // found before anything opens, with where the setting was given
      assert.match(
        r.stderr,
        /^error: .*forwarder\.toml: key "teleport\.identity": teleport client certificate in .* expired at .*; renew it/m,
      );
    }

    // refresh on: a valid identity, then an expired one (kept out), then a new valid one (taken)
    rig.writeIdentity();
    rig.editConfig('[teleport]', REFRESH);
    const fw = await rig.start();
    const expected = datasetKeys(dataset);
    await waitFor(() => [...expected].every((k) => rig.counts.has(k)), 'the dataset delivered');
    rig.writeIdentity({ notBefore: new Date(Date.now() - 5 * 3600_000), ttlHours: 1 });
    await fw.waitForLog(
      (l) =>
        l.msg === 'teleport identity refresh failed; keeping the current identity' && /expired/.test(String(l.err)),
      20_000,
    );
    const live = sampleEvents({ count: 50, startMs: Date.now() - 60_000, stepMs: 10 });
    rig.teleport.addEvents(live);
    rig.writeIdentity({ ttlHours: 72 });
    await fw.waitForLog((l) => l.msg === 'teleport identity reloaded', 20_000);
    rig.teleport.addEvents(
      sampleEvents({ count: 50, startMs: Date.now() - 60_000, stepMs: 10 }).map((e) => ({
        ...e,
        uid: `after-refresh-${String(e.uid)}`,
      })),
    );
    await waitFor(
      () => [...rig.counts.keys()].filter((k) => k.startsWith('events.log/after-refresh-')).length === 50,
      'events after the refresh delivered',
      60_000,
    );
    for (const ev of live)
      assert.ok(rig.counts.has(keyOf({ tag: 'events.log', ...ev })), 'live events during the expired file delivered');
    const status = await fw.getJson('/status');
    assert.equal(status.teleport.state, 'running');
    assert.ok(status.teleport.identityExpiresInSeconds > 48 * 3600, 'the new identity is in use');
    assert.equal(await fw.stop(), 0);
    const tl = tallyKeys(new Set([...expected, ...live.map((e) => keyOf({ tag: 'events.log', ...e }))]), rig.counts);
    t.diagnostic(
      `figures: scenario="teleport poller: expired identity (start, refresh)" delivered=${rig.counts.size} lost=${tl.lost.length} duplicated=${tl.duplicated}`,
    );
    assert.deepEqual(tl.lost, []);
  },
);

test(
  'poller: the identity in use expires mid-run, the auth service restarts, status says why, the renewed file is picked up: every event once',
  { timeout: 180_000 },
  async (t) => {
    const first = new Date(Date.parse(new Date().toISOString().slice(0, 10)) - DAY);
    const dataset = generatedDataset({
      dates: { start: first, days: 2 },
      eventsPerDate: 300,
      chunksPerDate: 2,
      sessions: { count: 2, eventsPerSession: 30 },
      seed: 13,
    });
    const rig = await teleportRig(t, dataset, first);
    rig.editConfig('[teleport]', REFRESH);
    const expected = datasetKeys(dataset);
    const added: string[] = [];
    const moments: string[] = [];
    const add = (phase: string, n: number) => {
      const events = liveEvents(phase, n);
      rig.teleport.addEvents(events);
      added.push(...auditKeys(events));
      return auditKeys(events);
    };
    const delivered = (keys: string[]) => keys.every((k) => rig.counts.has(k));
    const fw = await rig.start();
    await waitFor(() => delivered([...expected]), 'the dataset delivered', 90_000);
    const before = add('before', 40);
    await waitFor(() => delivered(before), 'live events before the rotation delivered', 60_000);

    // tbot's next identity is short-lived (12 s), and is not renewed in time
    const expiry = rig.writeIdentity({ ttlHours: 12 / 3600 });
    await fw.waitForLog((l) => l.msg === 'teleport identity reloaded' && l.expires === expiry.toISOString(), 20_000);
    const short = add('short-lived', 40);
    await waitFor(
      () => delivered(short) || Date.now() > expiry.getTime(),
      'live events with the short-lived identity delivered',
      60_000,
    );
    moments.push(`${rig.counts.size} delivered with the short-lived identity in use`);
    // the refresh finds the same file past its expiry: one error. the open connection outlives the certificate
    // (a server checks it at the handshake, Teleport as the fake), so the poller still reads until it dials again
    const said = await fw.waitForLog(
      (l) => l.level === 'error' && /expired at .* and was not renewed/.test(String(l.msg)),
      30_000,
    );
    assert.equal(said.file, rig.identity);
    assert.equal(said.expiredAt, expiry.toISOString());
    await rig.teleport.restart({ downMs: 500 });
    const served = () => Object.values(rig.teleport.calls).reduce((n, c) => n + c.count, 0);
    const servedAtRestart = served();
    moments.push('auth restart after expiry');
    const during = add('during', 40);

    // read through the admin api: the poller is failing, with the expiry as the reason. waited for until the
    // failure is the auth service (back up) refusing the certificate at the handshake, not a dial refused while down
    let status = await fw.getJson('/status');
    await waitFor(
      async () => {
        status = await fw.getJson('/status');
        const err = String(status.teleport.lastError);
        return status.teleport.failingSince !== null && /expired at/.test(err) && !/ECONNREFUSED/.test(err);
      },
      'the status shows the poller failing on the expired identity',
      60_000,
    );
    t.diagnostic(
      `status while expired: failingSince=${new Date(status.teleport.failingSince).toISOString()} lastError=${status.teleport.lastError}`,
    );
    assert.equal(status.teleport.state, 'running');
    assert.ok(
      String(status.teleport.lastError).startsWith(
        `the identity in ${rig.identity} expired at ${expiry.toISOString()}`,
      ),
      status.teleport.lastError,
    );
    assert.match(String(status.teleport.lastError), /waiting for the file to be renewed \(tbot/);
    assert.ok(
      status.warnings.some((w: string) => w.includes(`The Teleport identity ${rig.identity} has expired`)),
      JSON.stringify(status.warnings),
    );
    const during2 = add('during', 40);
    // nothing can be read with an expired certificate on a new connection: no call served, the events added since not shipped
    assert.equal(served(), servedAtRestart, 'the auth service served no call with the expired certificate');
    assert.deepEqual(
      [...during, ...during2].filter((k) => rig.counts.has(k)),
      [],
      'no event read while the identity is expired',
    );
    moments.push(`${rig.counts.size} delivered while expired`);

    const renewed = rig.writeIdentity({ ttlHours: 48 });
    await fw.waitForLog((l) => l.msg === 'teleport identity reloaded' && l.expires === renewed.toISOString(), 20_000);
    const after = add('after', 40);
    const all = new Set([...expected, ...added]);
    await waitFor(() => delivered([...all]), `all ${all.size} events delivered after the renewal`, 90_000);
    await waitFor(async () => (await fw.getJson('/status')).spool.records === 0, 'spool drained');
    status = await fw.getJson('/status');
    assert.equal(status.teleport.failingSince, null, 'no longer failing');
    assert.equal(status.teleport.lastError, null);
    assert.ok(status.teleport.identityExpiresInSeconds > 47 * 3600, 'the renewed identity is in use');
    assert.equal(rig.teleport.calls.GetEventExportChunks!.last!.user, 'teleport-event-handler');
    assert.equal(await fw.stop(), 0);
    const tl = tallyKeys(all, rig.counts);
    t.diagnostic(
      `figures: scenario="teleport poller: identity expired mid-run (12 s certificate), auth restart, renewed" acknowledged=${all.size} delivered=${all.size - tl.lost.length} lost=${tl.lost.length} duplicated=${tl.duplicated} unexpected=${tl.unexpected} live_before=${before.length + short.length} live_during_expiry=${during.length + during2.length} live_after=${after.length} events="${moments.join('; ')}"`,
    );
    assert.deepEqual(tl.lost, []);
    assert.equal(tl.duplicated, 0);
    assert.equal(tl.unexpected, 0);
  },
);

test(
  'poller: refresh on and an identity already expired at start: it keeps running (the ingest too), status says why, the renewed file is used: every event once',
  { timeout: 150_000 },
  async (t) => {
    const first = new Date(Date.parse(new Date().toISOString().slice(0, 10)) - DAY);
    const dataset = generatedDataset({
      dates: { start: first, days: 2 },
      eventsPerDate: 300,
      chunksPerDate: 2,
      sessions: { count: 2, eventsPerSession: 30 },
      seed: 14,
    });
    const rig = await teleportRig(t, dataset, first);
    const tls = writeTlsFiles(rig.dir);
    rig.editConfig('[teleport]', REFRESH);
    rig.editConfig(
      '[ingest]\nenabled = false',
      `[ingest]\nhost = "127.0.0.1"\nport = 0\nca = "${tls.paths.ca}"\ncert = "${tls.paths.cert}"\nkey = "${tls.paths.key}"`,
    );
    // a host off for days: tbot has not renewed the file yet when the forwarder starts
    const expired = rig.writeIdentity({ notBefore: new Date(Date.now() - 5 * 3600_000), ttlHours: 1 });
    const fw = await rig.start({ ingest: true });
    const said = await fw.waitForLog(
      (l) => l.level === 'error' && /waits for the file to be renewed \(tbot\)/.test(String(l.msg)),
      20_000,
    );
    assert.equal(said.file, rig.identity);
    assert.equal(said.expiredAt, expired.toISOString());
    assert.match(
      String(said.msg),
      new RegExp(`^the identity in ${rig.identity} expired at ${expired.toISOString().replace(/\./g, '\\.')}`),
    );

    let status = await fw.getJson('/status');
    t.diagnostic(
      `status while expired: failingSince=${new Date(status.teleport.failingSince).toISOString()} lastError=${status.teleport.lastError}`,
    );
    assert.equal(status.teleport.state, 'running');
    assert.ok(status.teleport.failingSince !== null);
    assert.ok(
      String(status.teleport.lastError).startsWith(
        `the identity in ${rig.identity} expired at ${expired.toISOString()}`,
      ),
      status.teleport.lastError,
    );
    assert.match(String(status.teleport.lastError), /waiting for the file to be renewed \(tbot/);
    // the ingest works meanwhile
    const client = new MtlsClient(fw.port!, tls);
    t.after(() => client.close());
    const posted = await client.post(
      '/ingest.log',
      JSON.stringify({ uid: 'ingest-while-expired', event: 'user.login' }),
    );
    assert.equal(posted.status, 200, posted.body);
    await waitFor(() => rig.counts.has('ingest.log/ingest-while-expired'), 'the ingest event delivered', 30_000);
    // and the poller waited: no call made with the expired certificate, nothing read
    assert.equal(
      Object.values(rig.teleport.calls).reduce((n, c) => n + c.count, 0),
      0,
      'no call to the auth service',
    );
    assert.equal([...rig.counts.keys()].filter((k) => !k.startsWith('ingest.log/')).length, 0);
    assert.equal(fw.proc.exitCode, null, 'still running');

    rig.writeIdentity({ ttlHours: 48 });
    await fw.waitForLog((l) => l.msg === 'teleport identity reloaded', 20_000);
    const live = liveEvents('after-renewal', 40);
    rig.teleport.addEvents(live);
    const all = new Set([...datasetKeys(dataset), ...auditKeys(live), 'ingest.log/ingest-while-expired']);
    await waitFor(
      () => [...all].every((k) => rig.counts.has(k)),
      `all ${all.size} events delivered after the renewal`,
      90_000,
    );
    await waitFor(async () => (await fw.getJson('/status')).spool.records === 0, 'spool drained');
    status = await fw.getJson('/status');
    assert.equal(status.teleport.failingSince, null);
    assert.equal(status.teleport.lastError, null);
    assert.equal(await fw.stop(), 0);
    const tl = tallyKeys(all, rig.counts);
    t.diagnostic(
      `figures: scenario="teleport poller: identity expired at start, refresh on, renewed" acknowledged=${all.size} delivered=${all.size - tl.lost.length} lost=${tl.lost.length} duplicated=${tl.duplicated} unexpected=${tl.unexpected}`,
    );
    assert.deepEqual(tl.lost, []);
    assert.equal(tl.duplicated, 0);
    assert.equal(tl.unexpected, 0);
  },
);
