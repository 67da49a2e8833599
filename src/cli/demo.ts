// `demo`: the quick start's main job. on embedded defaults, in a temp dir: a fake Teleport Auth Service with a few
// days of audit events and session recordings, a local Datadog-compatible intake (or the real Datadog when
// DD_API_KEY is set), and the forwarder with both sources and its admin api on a free port: the poller reads the
// audit log, and a client that posts like teleport-event-handler sends events to the fluentd-compatible ingest. a
// live line shows events flowing. with --follow, the fake cluster keeps adding events and sessions and the client
// keeps posting, so `status` and /metrics move; a --dir reused gets the ports its last run had, when they are free.
import { mkdtempSync, writeFileSync, createWriteStream, mkdirSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, relative } from 'node:path';
import https from 'node:https';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { pino } from 'pino';
import { createCA, createCert, encryptKey, randomPassphrase } from '../tls/certs.js';
import { startFakeIntake, type FakeIntake } from '../fakes/intake.js';
import { startFakeTeleport, generatedDataset, sampleEvents, type FakeTeleport } from '../fakes/teleport.js';
import {
  fakeUuid,
  hash32,
  recordingEvent,
  sessionEnd,
  sessionStart,
  sessionUpload,
  type SessionSpec,
} from '../fakes/teleport-events.js';
import { formatIdentityFile } from '../sources/teleport/identity.js';
import { loadConfig } from '../config/load.js';
import { startApp } from '../app.js';
import { createLogger } from '../telemetry/logger.js';
import { ConfigError } from '../errors.js';
import { ClassicLevel } from 'classic-level';

// the first line of the config the demo writes: a --dir holding it may be reused, one holding another config not
const HEADER = '# written by `teleport-datadog-forwarder demo`';

export interface DemoOptions {
  dir?: string;
  /** audit events per day in the fake cluster */
  eventsPerDay: number;
  days: number;
  /** events the simulated teleport-event-handler posts to the ingest */
  posts: number;
  /** keep running (live cluster) until ctrl-c */
  follow: boolean;
  env: NodeJS.ProcessEnv;
  out: NodeJS.WriteStream;
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'tdf-demo-'));
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'forwarder.toml');
  // the ports the last demo in this directory had: the admin url it printed works again when they are free
  const ports = await reuseDir(dir, configFile);
  const say = (s: string) => o.out.write(s + '\n');
  const realDatadog = Boolean(o.env.DD_API_KEY);

  // the fake cluster: a few past days of audit events, recorded sessions, a burst of failed logins
  const today = Date.parse(new Date().toISOString().slice(0, 10));
  const dataset = generatedDataset({
    dates: { start: new Date(today - (o.days - 1) * 86_400_000), days: o.days },
    eventsPerDate: o.eventsPerDay,
    chunksPerDate: 4,
    sessions: { count: 3, eventsPerSession: 60 },
    failedLoginsFor: { user: 'mallory', count: 5 },
    seed: 7,
  });
  const teleport = await startFakeTeleport({ dataset });
  const client = teleport.issueClientCert({ user: 'teleport-event-handler', ttlHours: 48 });
  writeFileSync(join(dir, 'identity'), formatIdentityFile({ key: client.key, cert: client.cert, cas: [teleport.ca] }), {
    mode: 0o600,
  });

  // mTLS material for the ingest, as `teleport-event-handler configure` would write it (encrypted server key)
  const ca = createCA({ commonName: 'CA' });
  const server = createCert(ca, { usage: 'server', commonName: 'Server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const handler = createCert(ca, { usage: 'client', commonName: 'Client' });
  const passphrase = randomPassphrase();
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  writeFileSync(join(dir, 'server.crt'), server.cert);
  writeFileSync(join(dir, 'server.key'), encryptKey(server.key, passphrase), { mode: 0o600 });
  writeFileSync(join(dir, 'server.key.passphrase'), passphrase + '\n', { mode: 0o600 });

  let intake: FakeIntake | undefined;
  let receivedFile: string | undefined;
  if (!realDatadog) {
    receivedFile = join(dir, 'intake-received.jsonl');
    const received = createWriteStream(receivedFile);
    intake = await startFakeIntake({
      keepLogs: false,
      idField: 'uid',
      onLogs: (logs) => {
        for (const l of logs) received.write(JSON.stringify(l) + '\n');
      },
    });
  }

  // admin on port 0 (a port found free beforehand could be taken before the app binds it); the port it got is
  // written into the config once it listens, so `status --config` finds the running demo
  const writeConfig = (adminPort: number, ingestPort: number) =>
    writeFileSync(
      configFile,
      demoConfig({
        follow: o.follow,
        startTime: new Date(today - (o.days - 1) * 86_400_000).toISOString(),
        teleportAddr: teleport.address,
        adminPort,
        ingestPort,
        datadog: intake ? `url = "${intake.url}"` : `site = "${o.env.DD_SITE ?? 'datadoghq.com'}"`,
      }),
    );
  writeConfig(ports.admin, ports.ingest);

  const logFile = join(dir, 'forwarder.log');
  const config = loadConfig({
    file: configFile,
    env: { DD_API_KEY: o.env.DD_API_KEY ?? 'demo-key-for-the-local-intake' },
  });
  const logger = createLogger({ level: 'info' }, pino.destination({ dest: logFile, sync: true }));
  say(`teleport-datadog-forwarder demo, in ${dir}`);
  // the same count of days as the poller's log line about its first export
  const start = today - (o.days - 1) * 86_400_000;
  const back = Math.floor((Date.now() - start) / 86_400_000);
  say(
    `  fake Teleport Auth Service  ${teleport.address} (audit events since ${new Date(start).toISOString()}, ${back} ${back === 1 ? 'day' : 'days'} back; recorded sessions)`,
  );
  say(
    `  Datadog intake              ${intake ? `${intake.url} (local)` : `Datadog site ${config.datadog.site} (DD_API_KEY is set)`}`,
  );
  const app = await startApp(config, { logger, handlerMayHaveRun: false });
  writeConfig(app.admin?.port ?? 0, app.ingest!.port);
  const cli = cliPrefix();
  say(`  fluentd-compatible ingest   https://127.0.0.1:${app.ingest!.port} (mutual TLS)`);
  if (app.admin) say(`  admin API                   http://127.0.0.1:${app.admin.port} (/status, /metrics)`);
  say(`  while it runs               ${cli} status --config ${configFile}`);
  if (o.follow) say('  it keeps running, new events and sessions arriving every few seconds: ctrl-c stops it');
  say('');

  // a client that behaves like teleport-event-handler: mTLS keep-alive, one JSON event per POST
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca: ca.cert, cert: handler.cert, key: handler.key });
  let posted = 0;
  const postOne = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({
        event: 'user.login',
        code: i % 10 === 0 ? 'T1000W' : 'T1000I',
        success: i % 10 !== 0,
        user: `user${i % 7}`,
        method: 'local',
        cluster_name: 'tele.example.com',
        uid: `demo-handler-${i}`,
        time: new Date().toISOString(),
        ei: 0,
      });
      const req = https.request(
        {
          host: '127.0.0.1',
          port: app.ingest!.port,
          path: '/test.log',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`ingest answered ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let stopping = false;
  const poster = (async () => {
    for (let i = 0; i < o.posts; i += 4) {
      await Promise.all([0, 1, 2, 3].filter((k) => i + k < o.posts).map((k) => postOne(i + k)));
      posted = Math.min(o.posts, i + 4);
    }
    // --follow: a live cluster. the fake teleport gets new audit events and now and then a recorded session,
    // and the handler-like client posts one more event, every 2 s until ctrl-c
    for (let tick = 0; o.follow && !stopping; tick++) {
      await sleepUnless(2000, () => stopping);
      if (stopping) break;
      addLiveTraffic(teleport, tick, dataset.clusterName);
      await postOne(o.posts + tick);
      posted++;
    }
  })();

  const tty = Boolean(o.out.isTTY);
  const line = () => {
    const t = app.teleport!.status();
    const s = app.spool.stats();
    const d = app.sink!.status();
    return `exported ${t.eventsEmitted} audit + ${t.sessionEventsEmitted} session events | posted ${posted} to the ingest | spooled ${s.records} | delivered ${d.delivered}${intake ? ` | intake received ${intake.logCount}` : ''}`;
  };
  const timer = setInterval(() => (tty ? o.out.write(`\r${line()}   `) : say(line())), tty ? 200 : 2000);

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    stopping = true;
    void app.stop('interrupted');
  };
  process.once('SIGINT', onSigint);
  try {
    await poster;
  } catch (err) {
    if (!interrupted) throw err; // ctrl-c stops the ingest under the posts
  } finally {
    agent.destroy();
  }
  await app.stopped;
  clearInterval(timer);
  process.removeListener('SIGINT', onSigint);
  if (tty) o.out.write(`\r${line()}   \n`);
  else say(line());
  const delivered = app.sink!.status().delivered;
  const t = app.teleport!.status();
  const sent = t.eventsEmitted + t.sessionEventsEmitted + posted;
  const complete = intake ? intake.logCount === sent : delivered === sent;
  await teleport.close();
  await intake?.close();

  say('');
  if (interrupted) say('stopped.');
  else if (complete) say(`done: all ${sent} events reached ${intake ? 'the local intake' : 'Datadog'}, each once.`);
  else
    say(
      `done, but ${intake ? `the intake received ${intake.logCount}` : `${delivered} were delivered`} of ${sent} events: see the forwarder logs`,
    );
  say('where to look:');
  say(`  config              ${configFile}`);
  say(`  forwarder logs      ${logFile}`);
  if (receivedFile) say(`  what Datadog got    ${receivedFile} (one JSON log per line)`);
  else say(`  Datadog             Logs explorer, query: source:teleport env:demo`);
  // the fake cluster and intake end with the demo: running `start` on this config alone would have nothing to
  // read and nowhere to send. so: the demo again, kept running, and the commands that work on it
  say(`  the spool           ${cli} spool stats --config ${configFile}`);
  say(`  again, kept running ${cli} demo --dir ${dir} --follow`);
  say(`                      and meanwhile: ${cli} status --config ${configFile}`);
  return interrupted || complete ? 0 : 1;
}

/** the ports of the earlier demo whose config is in dir (0 where none or taken); throws when dir is not the
 * demo's or its spool is in use. the earlier spool is removed */
async function reuseDir(dir: string, configFile: string): Promise<{ admin: number; ingest: number }> {
  if (!existsSync(configFile)) return { admin: 0, ingest: 0 };
  const previous = readFileSync(configFile, 'utf8');
  if (!previous.startsWith(HEADER)) {
    throw new ConfigError(
      `${configFile} was not written by the demo: give --dir a new directory, or one an earlier demo used`,
    );
  }
  // an earlier demo's spool holds the cursor and records of a fake cluster and intake that are gone; one that
  // still runs there (demo --follow) holds leveldb's lock on it, and is left alone
  const storage = join(dir, 'storage');
  if (existsSync(storage)) {
    const db = new ClassicLevel(storage, { createIfMissing: false });
    try {
      await db.open();
      await db.close();
    } catch (err) {
      // not a store (an empty or broken directory) is for the removal below; only a held lock stops the demo
      if ((err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED') {
        throw new ConfigError(
          `${storage} is in use (is a \`demo --dir ${dir} --follow\` still running?): stop it first, or give --dir a new directory`,
        );
      }
    }
  }
  rmSync(storage, { recursive: true, force: true });
  return { admin: await freeOr0(portIn(previous, 'admin')), ingest: await freeOr0(portIn(previous, 'ingest')) };
}

/** the config the demo runs on: both sources, the local intake (or datadog), a rule for events and sessions */
export function demoConfig(c: {
  follow: boolean;
  startTime: string;
  teleportAddr: string;
  adminPort: number;
  ingestPort: number;
  /** the [datadog] line: url of the local intake, or the site */
  datadog: string;
}): string {
  return `${HEADER}: a complete config, both sources on
storage = "storage"
hostname = "demo-forwarder"
exit-on-last-event = ${c.follow ? 'false' : 'true'}
poll-interval = "2s"
start-time = "${c.startTime}"

[teleport]
addr = "${c.teleportAddr}"
identity = "identity"

[ingest]
host = "127.0.0.1"
port = ${c.ingestPort}
ca = "ca.crt"
cert = "server.crt"
key = "server.key"
key-passphrase-file = "server.key.passphrase"

[admin]
enabled = true
host = "127.0.0.1"
port = ${c.adminPort}

[datadog]
${c.datadog}

[[match]]
pattern = "events.log test.log"
source = "teleport"
service = "teleport-audit"
tags = ["env:demo"]

[[match]]
pattern = "session.*.log"
source = "teleport"
service = "teleport-sessions"
tags = ["env:demo"]
include-tag-key = true
`;
}

/** the port of `[table]` in a config the demo wrote, or 0 */
export function portIn(config: string, table: string): number {
  const m = new RegExp(`^\\[${table}\\][^[]*?^port = (\\d+)$`, 'm').exec(config);
  return m ? Number(m[1]) : 0;
}

/** the port when nothing listens on it on loopback now, else 0 (any free port) */
function freeOr0(port: number): Promise<number> {
  if (port === 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(0));
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () => probe.close(() => resolve(port)));
  });
}

function sleepUnless(ms: number, stop: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (stop() || Date.now() - started >= ms) {
        clearInterval(timer);
        resolve();
      }
    }, 100);
  });
}

/** what a live cluster adds in 2 s: a few audit events, and every fifth time a short recorded session */
function addLiveTraffic(teleport: FakeTeleport, tick: number, cluster: string): void {
  const now = Date.now();
  teleport.addEvents(sampleEvents({ count: 3, startMs: now - 1500, stepMs: 500, clusterName: cluster }));
  if (tick % 5 !== 0) return;
  const seed = randomInt(2 ** 32);
  const spec: SessionSpec = {
    sid: fakeUuid(seed, 0xfffc, tick),
    cluster,
    h: hash32(seed, tick, 0x5e),
    startMs: now - 60_000,
    endMs: now - 1000,
    startUid: fakeUuid(seed, 0xfffd, tick),
    endUid: fakeUuid(seed, 0xfffe, tick),
    uploadUid: fakeUuid(seed, 0xffff, tick),
    length: 12,
  };
  teleport.addRecording(
    spec.sid,
    Array.from({ length: spec.length }, (_, i) => recordingEvent(spec, i)),
  );
  teleport.addEvents([sessionStart(spec), sessionEnd(spec), sessionUpload(spec, now)]);
}

/** how this command was run, for the commands the demo prints: `node dist/src/cli/main.js`, or the installed bin */
function cliPrefix(): string {
  const script = process.argv[1];
  if (!script) return 'teleport-datadog-forwarder';
  if (!/\.[cm]?[jt]s$/.test(script)) return basename(script); // an installed bin, on the PATH
  const rel = relative(process.cwd(), script);
  const shown = rel.startsWith('..') || isAbsolute(rel) ? script : rel;
  return script.endsWith('.ts') ? `node --import tsx ${shown}` : `node ${shown}`;
}
