// the fluentd endpoint under a teleport-event-handler-like client, against the floor of its stack.
//
//   node --import tsx bench/ingest.ts [--scenario closed|open|h2] [--connections 1,10] [--duration 6] [--runs 3]
//
// scenarios:
//   closed  closed loop with each of --connections: the bare fastify mtls server (empty 200) and the forwarder
//           started through its cli (durable: a 200 only after fsync) shipping to the local intake. figures:
//           requests/s, ack latency p50/p99, server cpu per request (forwarder: from request to the intake's 202),
//           peak rss. runs alternate between the servers so drift on the shared machine hits all alike.
//           --durable-floor adds two durable servers that do nothing else: the bare server with a leveldb group
//           commit before each 200, and with a group commit into a pre-written file (no database at all).
//   open    a steady --rate events/s over --connections lanes, latency counted from when each event was due.
//   h2      the bare server over http/1.1 against http/2 (one connection, --connections streams), and http/1.1
//           clients of the h2-enabled server (allowHTTP1).
// every server is its own process (cpu from /proc/<pid>/stat); the client runs here and shares the 2 cores.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCA, createCert } from '../src/tls/certs.js';
import { H1Lane, H2Session, type ClientTls, type Lane } from './clients.js';
import { closedLoop, openLoop, type Events, type LoadResult } from './load.js';
import { runPrefix } from './events.js';
import {
  cpuMs,
  cpuSplitMs,
  fsyncLatency,
  machineCpu,
  machineShares,
  type MachineShares,
  peakRssMiB,
  rssMiB,
  selfCpuMs,
  threadCpuMs,
  threadDelta,
} from './proc.js';
import {
  benchScript,
  cliArgs,
  launchDescription,
  deadline,
  spawnNode,
  startIntakeProcess,
  writeText,
} from './procs.js';
import { fmt, spread } from './stats.js';

const { values: opt } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'closed' },
    connections: { type: 'string' },
    duration: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    bits: { type: 'string', default: '2048' },
    only: { type: 'string' },
    cli: { type: 'string', default: 'auto' },
    'cpu-prof': { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    json: { type: 'string' },
    'intake-delay': { type: 'string', default: '0' },
    delivery: { type: 'string', default: 'intake' },
    'durable-floor': { type: 'boolean', default: false },
    ack: { type: 'string', default: 'fsync,written' },
    storage: { type: 'string' },
    deadline: { type: 'string', default: '175' },
    // shipped: servers start node as the shipped entry points do (src/runtime.ts LAUNCH); plain: node's defaults
    launch: { type: 'string', default: 'shipped' },
  },
});
if (opt.launch !== 'shipped' && opt.launch !== 'plain') throw new Error('--launch takes shipped or plain');
const launch = opt.launch === 'shipped';

const scenario = opt.scenario as 'closed' | 'open' | 'h2';
if (!['closed', 'open', 'h2'].includes(scenario))
  throw new Error(`--scenario must be closed, open or h2, not ${scenario}`);
const durationMs = Number(opt.duration) * 1000;
const warmupMs = Number(opt.warmup) * 1000;
const runs = Number(opt.runs);
const rate = Number(opt.rate);
const connections = (opt.connections ?? (scenario === 'closed' ? '1,10' : '10')).split(',').map(Number);
deadline(Number(opt.deadline) * 1000);
const acks = opt.ack.split(',') as Ack[];
if (!acks.every((a) => a === 'fsync' || a === 'written')) throw new Error('--ack takes fsync, written or both');

// ---------------------------------------------------------------------------------------------------------------
// tls material on disk, shared by every server and the client: one CA, a server and a client certificate

const dir = mkdtempSync(join(tmpdir(), 'tdf-bench-ingest-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const bits = Number(opt.bits);
const ca = createCA({ bits });
const server = createCert(ca, {
  usage: 'server',
  commonName: 'Server',
  dnsNames: ['localhost'],
  ips: ['127.0.0.1'],
  bits,
});
const client = createCert(ca, { usage: 'client', commonName: 'Client', bits });
const paths = {
  ca: writeText(dir, 'ca.crt', ca.cert, 0o644),
  cert: writeText(dir, 'server.crt', server.cert, 0o644),
  key: writeText(dir, 'server.key', server.key),
};
const clientTls: ClientTls = { ca: ca.cert, cert: client.cert, key: client.key, servername: 'localhost' };
// where the spools (and the durable floor's store) live: the temp dir's disk, or e.g. /dev/shm to see the cost
// of everything but the disk (fsync on tmpfs returns at once: a diagnostic, not durable)
const storageBase = opt.storage ? mkdtempSync(join(opt.storage, 'tdf-bench-')) : dir;
if (opt.storage) process.on('exit', () => rmSync(storageBase, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------------------
// servers under test

interface Running {
  port: number;
  pid: number;
  /** pids whose cpu is reported beside the server's (the intake) */
  intakePid?: number;
  /** resolves once everything acknowledged so far has reached the intake */
  drain(acked: number): Promise<void>;
  /** duplicates or losses seen at the intake, when it can tell */
  check?(acked: number): Promise<string | null>;
  /** requests the intake accepted so far */
  intakeRequests?(): Promise<number>;
  stop(): Promise<void>;
}

type Kind = 'bare' | 'bare-h2' | 'bare-durable' | 'bare-written' | 'bare-file' | 'forwarder' | 'forwarder-written';
type Ack = 'fsync' | 'written';
const isForwarder = (k: Kind): boolean => k === 'forwarder' || k === 'forwarder-written';

const cli = cliArgs(opt.cli);
let runNo = 0;

async function startBare(h2: boolean, durable: 'leveldb' | 'written' | 'file' | null = null): Promise<Running> {
  const profile = opt['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${opt['cpu-prof']}`] : [];
  const args = [...profile, ...benchScript('bare-server'), '--ca', paths.ca, '--cert', paths.cert, '--key', paths.key];
  if (h2) args.push('--h2');
  const store = durable !== null ? mkdtempSync(join(storageBase, 'durable-')) : null;
  if (store !== null) args.push(durable === 'file' ? '--durable-file' : '--durable', store);
  if (durable === 'written') args.push('--written');
  const child = spawnNode(args, {}, { launch });
  const line = await child.waitForLine((l) => l.msg === 'bare listening', 30_000);
  return {
    port: line.port,
    pid: child.pid,
    drain: async () => {},
    stop: async () => {
      await child.stop();
      if (store !== null) rmSync(store, { recursive: true, force: true });
    },
  };
}

async function startForwarder(ack: Ack): Promise<Running> {
  if (opt.delivery === 'none') return startForwarderWithoutDelivery(ack);
  const intake = await startIntakeProcess('uid', Number(opt['intake-delay']));
  const work = mkdtempSync(join(storageBase, `fw-${runNo++}-`));
  const profile = [
    ...(opt['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${opt['cpu-prof']}`] : []),
    ...opt['node-flags'].split(' ').filter(Boolean),
  ];
  const toml = forwarderToml(work, intake.url, ack);
  const child = spawnNode(
    [...profile, ...cli.args, 'start', '--config', toml],
    { DD_API_KEY: intake.apiKey },
    { launch },
  );
  let line: Record<string, any>;
  try {
    line = await child.waitForLine((l) => typeof l.msg === 'string' && l.msg.includes('ingest listening'), 60_000);
  } catch (err) {
    await intake.close();
    throw err;
  }
  return {
    port: line.port,
    pid: child.pid,
    intakePid: intake.pid,
    drain: async (acked) => {
      await intake.waitForLogs(acked, 90_000);
    },
    check: async (acked) => {
      const s = await intake.stats();
      if (s.logCount !== acked) return `intake has ${s.logCount} logs for ${acked} acknowledged events`;
      if (s.ids !== s.logCount) return `intake has ${s.logCount} logs but ${s.ids} distinct uids`;
      return null;
    },
    intakeRequests: async () => (await intake.stats()).accepted,
    stop: async () => {
      const code = await child.stop();
      if (code !== 0) process.stderr.write(`forwarder exited ${code}: ${child.stderr().slice(-2000)}\n`);
      await intake.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

function forwarderToml(work: string, intakeUrl: string, ack: Ack): string {
  return writeText(
    work,
    'forwarder.toml',
    `
storage = "${join(work, 'storage')}"
hostname = "bench-host"

[ingest]
host = "127.0.0.1"
port = 0
ca = "${paths.ca}"
cert = "${paths.cert}"
key = "${paths.key}"
ack = "${ack}"

[datadog]
url = "${intakeUrl}"

[admin]
enabled = false

[[match]]
pattern = "test.log events.log"
source = "teleport"
service = "teleport-audit"
tags = ["env:bench", "team:security"]
`,
  );
}

/**
 * a diagnostic, not a target figure: the cost of accepting alone (tls, http, decode, route, spool append with
 * fsync), with datadog unreachable (a closed port) so the sink only backs off and retries
 */
async function startForwarderWithoutDelivery(ack: Ack): Promise<Running> {
  const work = mkdtempSync(join(storageBase, `fw-${runNo++}-`));
  const profile = [
    ...(opt['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${opt['cpu-prof']}`] : []),
    ...opt['node-flags'].split(' ').filter(Boolean),
  ];
  const toml = forwarderToml(work, 'http://127.0.0.1:1', ack);
  const child = spawnNode(
    [...profile, ...cli.args, 'start', '--config', toml],
    { DD_API_KEY: 'bench0123456789abcdef0123456789ab' },
    { launch },
  );
  const line = await child.waitForLine((l) => typeof l.msg === 'string' && l.msg.includes('ingest listening'), 60_000);
  return {
    port: line.port,
    pid: child.pid,
    drain: async () => {},
    stop: async () => {
      await child.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

function start(kind: Kind): Promise<Running> {
  if (isForwarder(kind)) return startForwarder(kind === 'forwarder' ? 'fsync' : 'written');
  const durable = ({ 'bare-durable': 'leveldb', 'bare-written': 'written', 'bare-file': 'file' } as const)[
    kind as 'bare-durable' | 'bare-written' | 'bare-file'
  ];
  return startBare(kind === 'bare-h2', durable ?? null);
}

// ---------------------------------------------------------------------------------------------------------------
// one measured run

interface RunFigures {
  label: string;
  kind: Kind;
  proto: 'h1' | 'h2';
  lanes: number;
  ok: number;
  errors: number;
  rate: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** server cpu per acknowledged request, µs (forwarder: until the intake had them all) */
  cpuUs: number;
  /** the client's (this process's) cpu per request, µs */
  clientCpuUs: number;
  /** the intake's cpu per event, µs (forwarder only) */
  intakeCpuUs: number;
  /** events per request the intake received (forwarder only): the sink's batching */
  eventsPerIntakeRequest: number;
  /** ms from the end of the load until the intake had every acknowledged event */
  drainMs: number;
  peakRssMiB: number;
  /** rss once listening, before any request (after a second to settle) */
  idleRssMiB: number;
  /** the machine's cores over the measured phase and the drain: busy, idle, stolen (0..1) */
  machine: MachineShares;
  /** share of the server's cpu spent in the kernel */
  sysShare: number;
  /** server cpu per request by thread name, µs */
  threads: Record<string, number>;
  problem: string | null;
}

async function makeLanes(
  target: Running,
  kind: Kind,
  proto: 'h1' | 'h2',
  n: number,
): Promise<{ lanes: Lane[]; close(): void }> {
  if (proto === 'h2') {
    const s = new H2Session('127.0.0.1', target.port, clientTls);
    await s.open();
    return { lanes: Array.from({ length: n }, () => s.lane()), close: () => s.close() };
  }
  // go offers h2 and http/1.1; against the h2-enabled server this models clients that only speak http/1.1
  const alpn = kind === 'bare-h2' ? ['http/1.1'] : ['h2', 'http/1.1'];
  const lanes = Array.from({ length: n }, () => new H1Lane('127.0.0.1', target.port, clientTls, alpn));
  return { lanes, close: () => lanes.forEach((l) => l.close()) };
}

async function measure(
  label: string,
  kind: Kind,
  proto: 'h1' | 'h2',
  n: number,
  load: (lanes: Lane[], ev: Events) => Promise<LoadResult>,
): Promise<RunFigures> {
  const target = await start(kind);
  await new Promise((r) => setTimeout(r, 1000));
  const idleRssMiB = rssMiB(target.pid);
  const { lanes, close } = await makeLanes(target, kind, proto, n);
  const events: Events = { run: runPrefix(), next: 0, path: '/test.log' };
  try {
    const warm = await closedLoop(lanes, events, warmupMs);
    let acked = warm.ok;
    await target.drain(acked);
    const cpu0 = cpuMs(target.pid);
    const split0 = cpuSplitMs(target.pid);
    const machine0 = machineCpu();
    const wall0 = Date.now();
    const threads0 = threadCpuMs(target.pid);
    const client0 = selfCpuMs();
    const intake0 = target.intakePid ? cpuMs(target.intakePid) : 0;
    const intakeReq0 = (await target.intakeRequests?.()) ?? NaN;
    const r = await load(lanes, events);
    acked += r.ok;
    const t0 = Date.now();
    await target.drain(acked);
    const drainMs = Date.now() - t0;
    const cpu = cpuMs(target.pid) - cpu0;
    const split1 = cpuSplitMs(target.pid);
    const machine1 = machineCpu();
    const sysShare = (split1.sys - split0.sys) / cpu;
    const threads: Record<string, number> = {};
    for (const [name, ms] of threadDelta(threads0, threadCpuMs(target.pid)))
      if (ms > 0) threads[name] = (ms * 1000) / r.ok;
    const clientCpu = selfCpuMs() - client0;
    const intakeCpu = target.intakePid ? cpuMs(target.intakePid) - intake0 : NaN;
    const machine = machineShares(
      machine0,
      machine1,
      cpu + clientCpu + (Number.isNaN(intakeCpu) ? 0 : intakeCpu),
      Date.now() - wall0,
    );
    const intakeReqs = ((await target.intakeRequests?.()) ?? NaN) - intakeReq0;
    const [p50, p99, p999, max] = r.latency.percentiles([50, 99, 99.9, 100]);
    let problem = r.errors > 0 ? `${r.errors} errors (${JSON.stringify(r.statuses)}; ${r.firstError ?? ''})` : null;
    const lost = target.check ? await target.check(acked) : null;
    if (lost) problem = problem ? `${problem}; ${lost}` : lost;
    return {
      label,
      kind,
      proto,
      lanes: n,
      ok: r.ok,
      errors: r.errors,
      rate: (r.ok * 1000) / r.elapsedMs,
      p50: p50!,
      p99: p99!,
      p999: p999!,
      max: max!,
      cpuUs: (cpu * 1000) / r.ok,
      clientCpuUs: (clientCpu * 1000) / r.ok,
      intakeCpuUs: (intakeCpu * 1000) / r.ok,
      eventsPerIntakeRequest: r.ok / intakeReqs,
      sysShare,
      machine,
      drainMs,
      peakRssMiB: peakRssMiB(target.pid),
      idleRssMiB,
      threads,
      problem,
    };
  } finally {
    close();
    await target.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// scenarios

interface Plan {
  label: string;
  kind: Kind;
  proto: 'h1' | 'h2';
  lanes: number;
}

function plans(): Plan[] {
  const out: Plan[] = [];
  for (const n of connections) {
    if (scenario === 'h2') {
      out.push({ label: `bare http/1.1, ${n} connections`, kind: 'bare', proto: 'h1', lanes: n });
      out.push({ label: `bare h2, 1 connection x ${n} streams`, kind: 'bare-h2', proto: 'h2', lanes: n });
      out.push({ label: `bare h2 server, http/1.1 clients, ${n} connections`, kind: 'bare-h2', proto: 'h1', lanes: n });
    } else {
      if (opt.only !== 'forwarder')
        out.push({ label: `bare fastify mtls, ${n} connections`, kind: 'bare', proto: 'h1', lanes: n });
      if (opt['durable-floor']) {
        out.push({
          label: `bare + leveldb group commit, ${n} connections`,
          kind: 'bare-durable',
          proto: 'h1',
          lanes: n,
        });
        out.push({ label: `bare + fdatasync'd file, ${n} connections`, kind: 'bare-file', proto: 'h1', lanes: n });
        if (acks.includes('written'))
          out.push({
            label: `bare + leveldb without sync, ${n} connections`,
            kind: 'bare-written',
            proto: 'h1',
            lanes: n,
          });
      }
      if (opt.only !== 'bare') {
        if (acks.includes('fsync'))
          out.push({ label: `forwarder ack=fsync, ${n} connections`, kind: 'forwarder', proto: 'h1', lanes: n });
        if (acks.includes('written'))
          out.push({
            label: `forwarder ack=written, ${n} connections`,
            kind: 'forwarder-written',
            proto: 'h1',
            lanes: n,
          });
      }
    }
  }
  return out;
}

const all: RunFigures[] = [];
const list = plans();
const began = Date.now();
console.log(
  `scenario ${scenario}: ${list.length} configurations x ${runs} runs, ${durationMs / 1000} s measured after ${warmupMs / 1000} s warm-up` +
    (scenario === 'open' ? `, ${rate} events/s` : '') +
    `; forwarder: ${cli.how}; servers launched ${launch ? `as shipped (${launchDescription()})` : 'with node defaults'}; RSA ${bits}; ` +
    (opt.delivery === 'none'
      ? 'NO DELIVERY (datadog unreachable: accept path only)'
      : `intake answers after ${opt['intake-delay']} ms`),
);
const disk = fsyncLatency(storageBase);
console.log(
  `disk now: fdatasync of a 600-byte append p50 ${disk.p50.toFixed(2)} ms, p99 ${disk.p99.toFixed(2)} ms (${storageBase})`,
);
for (let run = 0; run < runs; run++) {
  for (const p of list) {
    const load =
      scenario === 'open'
        ? (lanes: Lane[], ev: Events) => openLoop(lanes, ev, rate, durationMs)
        : (lanes: Lane[], ev: Events) => closedLoop(lanes, ev, durationMs);
    const f = await measure(p.label, p.kind, p.proto, p.lanes, load);
    all.push(f);
    console.log(
      `run ${run + 1} ${p.label}: ${f.rate.toFixed(0)} req/s, p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, ` +
        `p99.9 ${f.p999.toFixed(2)} ms, server cpu ${f.cpuUs.toFixed(0)} µs/req, client cpu ${f.clientCpuUs.toFixed(0)} µs/req` +
        (isForwarder(f.kind)
          ? `, intake cpu ${f.intakeCpuUs.toFixed(0)} µs/event, ${f.eventsPerIntakeRequest.toFixed(1)} events per intake request, drain ${f.drainMs} ms`
          : '') +
        `, peak rss ${f.peakRssMiB.toFixed(0)} MiB` +
        (f.problem ? ` — ${f.problem}` : '') +
        `\n    machine ${(100 * f.machine.busy).toFixed(0)}% busy (other processes: ${f.machine.otherCores.toFixed(2)} cores), ${(100 * f.machine.steal).toFixed(0)}% stolen; server cpu ${(100 * f.sysShare).toFixed(0)}% in the kernel; by thread, µs/req: ${Object.entries(
          f.threads,
        )
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(', ')}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// summary: median (min–max) over runs, and the targets as ratios to the bare floor with the same client

const by = (p: Plan) => all.filter((f) => f.label === p.label);
const s = (p: Plan, k: keyof RunFigures) => spread(by(p).map((f) => f[k] as number));
console.log(
  `\nsummary (median (min–max) of ${runs} runs; client and servers share ${availableParallelism()} cores), ${((Date.now() - began) / 1000).toFixed(0)} s`,
);
console.log(
  '| configuration | req/s | p50 ms | p99 ms | server cpu µs/req | client cpu µs/req | idle RSS MiB | peak RSS MiB |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const p of list) {
  console.log(
    `| ${p.label} | ${fmt(s(p, 'rate'))} | ${fmt(s(p, 'p50'), 2)} | ${fmt(s(p, 'p99'), 2)} | ${fmt(s(p, 'cpuUs'))} | ${fmt(s(p, 'clientCpuUs'))} | ${fmt(s(p, 'idleRssMiB'))} | ${fmt(s(p, 'peakRssMiB'))} |`,
  );
}

/** ratio of each run to its paired run (same round) of another configuration */
function pairedRatio(a: Plan, b: Plan, k: keyof RunFigures) {
  const fa = by(a);
  const fb = by(b);
  return spread(fa.map((f, i) => (f[k] as number) / (fb[i]?.[k] as number)));
}

const verdicts: string[] = [];
if (scenario === 'closed') {
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  for (const n of connections) {
    const find = (kind: Kind) => list.find((p) => p.kind === kind && p.lanes === n);
    const bare = find('bare');
    const floor = find('bare-durable');
    const file = find('bare-file');
    const fsync = find('forwarder');
    const written = find('forwarder-written');
    if (bare && file) {
      verdicts.push(
        `${n} conn: the file floor (no database, one fdatasync per group) reaches ${fmt(pairedRatio(file, bare, 'rate'), 2)} of the bare rate ` +
          `at ${fmt(pairedRatio(file, bare, 'cpuUs'), 2)}x its cpu per request`,
      );
    }
    if (fsync && floor) {
      const rate = pairedRatio(fsync, floor, 'rate');
      const want = n === 1 ? 0.9 : 0.95;
      verdicts.push(
        `${n} conn: ack=fsync rate / leveldb floor rate = ${fmt(rate, 2)} (target >= ${want}: ${verdict(rate.median >= want)})`,
      );
      const extra = spread(by(fsync).map((f, i) => f.cpuUs - (by(floor)[i]?.cpuUs ?? NaN)));
      verdicts.push(
        `${n} conn: ack=fsync cpu per event (request to intake 202) - leveldb floor cpu per request = ${fmt(extra)} µs` +
          (n === 1 ? ` (target <= 100: ${verdict(extra.median <= 100)})` : ''),
      );
    }
    const writtenFloor = find('bare-written');
    if (writtenFloor && bare) {
      verdicts.push(
        `${n} conn: the written floor (leveldb group commit without sync, nothing else) reaches ${fmt(pairedRatio(writtenFloor, bare, 'rate'), 2)} of the bare rate ` +
          `at ${fmt(pairedRatio(writtenFloor, bare, 'cpuUs'), 2)}x its cpu per request`,
      );
    }
    if (written && writtenFloor) {
      verdicts.push(
        `${n} conn: ack=written rate / written floor rate = ${fmt(pairedRatio(written, writtenFloor, 'rate'), 2)}; ` +
          `cpu per event / written floor cpu per request = ${fmt(pairedRatio(written, writtenFloor, 'cpuUs'), 2)}`,
      );
    }
    if (written && bare) {
      const rate = pairedRatio(written, bare, 'rate');
      const cpu = pairedRatio(written, bare, 'cpuUs');
      const [wantRate, wantCpu] = n === 1 ? [0.7, 1.8] : [0.6, 2.5];
      verdicts.push(
        `${n} conn: ack=written rate / bare rate = ${fmt(rate, 2)} (target >= ${wantRate}: ${verdict(rate.median >= wantRate)})`,
      );
      verdicts.push(
        `${n} conn: ack=written cpu per event (request to intake 202) / bare cpu per request = ${fmt(cpu, 2)} (target <= ${wantCpu}: ${verdict(cpu.median <= wantCpu)})`,
      );
    }
    for (const fw of [fsync, written]) {
      if (!fw) continue;
      const idle = spread(by(fw).map((f) => f.idleRssMiB));
      const peak = s(fw, 'peakRssMiB');
      let line = `${n} conn: ${fw.label.split(',')[0]}: idle rss ${fmt(idle)} MiB (target <= 90 MB = 85.8 MiB: ${verdict(idle.median <= 85.8)}), peak ${fmt(peak)} MiB`;
      if (floor) {
        const ratio = pairedRatio(fw, floor, 'peakRssMiB');
        line +=
          ` = ${fmt(ratio, 2)}x the leveldb floor's` +
          (n === 10 ? ` (target <= 1.2: ${verdict(ratio.median <= 1.2)})` : '');
      }
      verdicts.push(line);
      const intake = spread(by(fw).map((f) => f.intakeCpuUs));
      verdicts.push(
        `${n} conn: ${fw.label.split(',')[0]}: the intake (not counted above) used ${fmt(intake)} µs per event`,
      );
    }
  }
} else if (scenario === 'open') {
  for (const p of list) {
    const p99 = s(p, 'p99');
    verdicts.push(
      `${p.label} at ${rate}/s: p99 ack latency ${fmt(p99, 2)} ms, p99.9 ${fmt(s(p, 'p999'), 2)} ms, max ${fmt(s(p, 'max'), 2)} ms` +
        (isForwarder(p.kind) ? ` (target p99 < 10 ms: ${p99.median < 10 ? 'met' : 'NOT met'})` : ''),
    );
  }
} else {
  for (const n of connections) {
    const [h1, h2, h1on2] = list.filter((p) => p.lanes === n);
    if (!h1 || !h2 || !h1on2) continue;
    verdicts.push(
      `${n} in flight: h2 server cpu per request / http/1.1 = ${fmt(pairedRatio(h2, h1, 'cpuUs'), 2)}; h2 rate / http/1.1 rate = ${fmt(pairedRatio(h2, h1, 'rate'), 2)}`,
    );
    verdicts.push(
      `${n} in flight: http/1.1 clients of the h2-enabled server, cpu per request / plain https server = ${fmt(pairedRatio(h1on2, h1, 'cpuUs'), 2)}`,
    );
  }
}
if (verdicts.length > 0) console.log('\n' + verdicts.join('\n'));
const problems = all.filter((f) => f.problem);
if (problems.length > 0) console.log(`\n${problems.length} runs had problems (see above)`);
if (opt.json)
  writeFileSync(
    opt.json,
    JSON.stringify({ scenario, runs, durationMs, warmupMs, rate, connections, results: all }, null, 2),
  );
process.exit(problems.length > 0 ? 1 : 0);
