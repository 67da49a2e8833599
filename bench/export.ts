// the built-in teleport poller end to end: the fake auth service (in this process) -> the forwarder started
// through its cli with --exit-on-last-event -> the local intake (its own process).
//
//   node --import tsx bench/export.ts [--dataset audit|session] [--events 1000000] [--runs 1] [--kinds live,backfill]
//
// --kinds live (the default) runs `start --exit-on-last-event`; backfill runs `backfill --from --to` over the
// dataset's dates with the service stopped (the command runs the job and exits once the intake has it all; with
// the session dataset, --sessions). both kinds in one invocation alternate run by run (live first on even runs,
// backfill first on odd ones), so a busy machine weighs on both alike and their ratio is fair.
//
// datasets: `audit` is --events generated audit events over --dates dates of --chunks export chunks each;
// `session` is one recorded session of --session-events events (skip-session-types = [] so the prints ship too)
// beside a small audit log. figures: events/s from the forwarder's start until the intake has them all, peak rss
// (VmHWM), rss sampled over the run (flat?), and the cpu of the forwarder, the fake server and the intake, which
// all share the 2 cores. a run that is not done within --max-seconds is stopped and reported as partial.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatedDataset, startFakeTeleport, type FakeDataset } from '../src/fakes/teleport.js';
import { formatIdentityFile } from '../src/sources/teleport/identity.js';
import {
  cpuMs,
  machineCpu,
  machineShares,
  type MachineShares,
  peakRssMiB,
  rssMiB,
  selfCpuMs,
  threadCpuMs,
} from './proc.js';
import { cliArgs, deadline, launchDescription, spawnNode, startIntakeProcess, writeText } from './procs.js';
import { fmt, spread } from './stats.js';

const { values: opt } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'audit' },
    events: { type: 'string', default: '1000000' },
    dates: { type: 'string', default: '4' },
    chunks: { type: 'string', default: '4' },
    'session-events': { type: 'string', default: '100000' },
    concurrency: { type: 'string' },
    runs: { type: 'string', default: '1' },
    'max-seconds': { type: 'string', default: '150' },
    'sample-ms': { type: 'string', default: '500' },
    cli: { type: 'string', default: 'auto' },
    storage: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    json: { type: 'string' },
    deadline: { type: 'string', default: '178' },
    kinds: { type: 'string', default: 'live' },
    // shipped: the forwarder starts node as the shipped entry points do (src/runtime.ts LAUNCH); plain: defaults
    launch: { type: 'string', default: 'shipped' },
  },
});
if (opt.launch !== 'shipped' && opt.launch !== 'plain') throw new Error('--launch takes shipped or plain');

const DAY = 86_400_000;
const runs = Number(opt.runs);
type Kind = 'live' | 'backfill';
const kinds = opt.kinds.split(',').map((k) => k.trim()) as Kind[];
if (kinds.length === 0 || kinds.some((k) => k !== 'live' && k !== 'backfill'))
  throw new Error(`--kinds is a list of live and backfill, not ${opt.kinds}`);
const maxMs = Number(opt['max-seconds']) * 1000;
const sampleMs = Number(opt['sample-ms']);
deadline(Number(opt.deadline) * 1000 * Math.max(1, runs) * kinds.length);
const cli = cliArgs(opt.cli);

// dates end a few days ago, so every chunk is complete and in the past (exit-on-last-event can finish)
const days = Number(opt.dates);
const firstDay = Math.floor(Date.now() / DAY) * DAY - (days + 2) * DAY;
const firstDate = new Date(firstDay).toISOString().slice(0, 10);

function dataset(): FakeDataset {
  if (opt.dataset === 'session') {
    return generatedDataset({
      dates: { start: firstDate, days: 1 },
      eventsPerDate: 200,
      chunksPerDate: 2,
      sessions: { count: 1, eventsPerSession: Number(opt['session-events']) },
    });
  }
  if (opt.dataset !== 'audit') throw new Error(`--dataset must be audit or session, not ${opt.dataset}`);
  return generatedDataset({
    dates: { start: firstDate, days },
    eventsPerDate: Math.ceil(Number(opt.events) / days),
    chunksPerDate: Number(opt.chunks),
  });
}

interface Sample {
  /** s since the forwarder was started */
  t: number;
  rssMiB: number;
  delivered: number;
}

interface ExportFigures {
  kind: Kind;
  expected: number;
  delivered: number;
  distinctUids: number;
  /** the run ended by --max-seconds */
  partial: boolean;
  /** forwarder start -> the intake has everything (or the stop), s */
  seconds: number;
  /** forwarder start -> first log at the intake, s */
  firstLogSeconds: number;
  eventsPerSecond: number;
  /** rate between the first log and the last, s */
  steadyEventsPerSecond: number;
  peakRssMiB: number;
  /**
   * rss over the second half of the run: min, max, the slope of a least-squares line (MiB/min; a gc sawtooth
   * makes it swing), and the growth of the mean rss from the second quarter of the run to the last, MiB
   */
  rssLate: { min: number; max: number; slopePerMin: number; growthMiB: number };
  forwarderCpuUsPerEvent: number;
  forwarderThreadsUsPerEvent: Record<string, number>;
  fakeTeleportCpuUsPerEvent: number;
  intakeCpuUsPerEvent: number;
  intakeRequests: number;
  /** the machine's cores during the run: busy, idle and stolen by the hypervisor (0..1) */
  machine: MachineShares;
  exitCode: number | string | null;
  samples: Sample[];
}

function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** mean rss of the samples taken between fractions `from` and `to` of the run */
function meanRss(samples: Sample[], seconds: number, from: number, to: number): number {
  const part = samples.filter((x) => x.t >= from * seconds && x.t <= to * seconds);
  return part.reduce((a, x) => a + x.rssMiB, 0) / Math.max(1, part.length);
}

async function runOnce(run: number, kind: Kind): Promise<ExportFigures> {
  const dir = mkdtempSync(join(opt.storage ?? tmpdir(), 'tdf-bench-export-'));
  const data = dataset();
  let expected = data.events.length;
  for (const sid of data.sessionIds) expected += data.recording(sid)?.length ?? 0;
  const fake = await startFakeTeleport({ dataset: data });
  const { cert, key } = fake.issueClientCert({ user: 'bench-datadog', ttlHours: 2 });
  const identity = writeText(dir, 'identity', formatIdentityFile({ key, cert, cas: [fake.ca] }));
  const intake = await startIntakeProcess('uid');
  const profile = [
    ...(opt['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${opt['cpu-prof']}`] : []),
    ...opt['node-flags'].split(' ').filter(Boolean),
  ];
  const toml = writeText(
    dir,
    'forwarder.toml',
    `
storage = "${join(dir, 'storage')}"
hostname = "bench-host"
start-time = "${firstDate}T00:00:00Z"
${opt.concurrency ? `concurrency = ${Number(opt.concurrency)}` : ''}
${opt.dataset === 'session' ? 'skip-session-types = []' : ''}

[ingest]
enabled = false

[teleport]
addr = "${fake.address}"
identity = "${identity}"

[datadog]
url = "${intake.url}"

[admin]
enabled = false
`,
  );
  console.log(`run ${run + 1} (${kind}): ${data.description}; expecting ${expected} logs at the intake`);
  const lastDate = new Date(firstDay + days * DAY).toISOString().slice(0, 10);
  const command =
    kind === 'live'
      ? ['start', '--config', toml, '--exit-on-last-event']
      : [
          'backfill',
          '--config',
          toml,
          '--from',
          `${firstDate}T00:00:00Z`,
          '--to',
          `${lastDate}T00:00:00Z`,
          ...(opt.dataset === 'session' ? ['--sessions'] : []),
        ];
  const self0 = selfCpuMs();
  const intake0 = cpuMs(intake.pid);
  const machine0 = machineCpu();
  const started = Date.now();
  const fw = spawnNode(
    [...profile, ...cli.args, ...command],
    { DD_API_KEY: intake.apiKey },
    { launch: opt.launch === 'shipped' },
  );
  let exitCode: number | string | null = null;
  void fw.exited.then((c) => (exitCode = c));
  const samples: Sample[] = [];
  let firstLogAt = NaN;
  let lastCpu = 0;
  let lastThreads = new Map<string, number>();
  let lastHwm = 0;
  let delivered = 0;
  let partial = false;
  let nextSample = 0;
  for (;;) {
    const s = await intake.stats();
    delivered = s.logCount;
    const t = (Date.now() - started) / 1000;
    if (delivered > 0 && Number.isNaN(firstLogAt)) firstLogAt = t;
    if (exitCode === null) {
      try {
        // a process that is exiting has no memory figures and fewer threads: keep the last full reading
        const hwm = peakRssMiB(fw.pid);
        if (!Number.isFinite(hwm)) throw new Error('exiting');
        lastHwm = hwm;
        lastCpu = cpuMs(fw.pid);
        lastThreads = threadCpuMs(fw.pid);
        if (Date.now() >= nextSample) {
          samples.push({ t, rssMiB: rssMiB(fw.pid), delivered });
          nextSample = Date.now() + sampleMs;
        }
      } catch {
        // exited between the check and the read
      }
    }
    if (delivered >= expected || exitCode !== null) break;
    if (Date.now() - started > maxMs) {
      partial = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (Date.now() - started) / 1000;
  const machine1 = machineCpu();
  const fakeCpu = selfCpuMs() - self0;
  const intakeCpu = cpuMs(intake.pid) - intake0;
  const machine = machineShares(machine0, machine1, lastCpu + fakeCpu + intakeCpu, Date.now() - started);
  const final = await intake.stats();
  const code = await fw.stop('SIGTERM', 20_000);
  if (code !== 0 && !partial) process.stderr.write(`forwarder exited ${code}: ${fw.stderr().slice(-3000)}\n`);
  await intake.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });

  const late = samples.filter((x) => x.t >= seconds / 2);
  const threads: Record<string, number> = {};
  for (const [k, v] of lastThreads) threads[k] = (v * 1000) / Math.max(1, delivered);
  return {
    kind,
    expected,
    delivered,
    distinctUids: final.ids,
    partial,
    seconds,
    firstLogSeconds: firstLogAt,
    eventsPerSecond: delivered / seconds,
    steadyEventsPerSecond: delivered / Math.max(0.001, seconds - firstLogAt),
    peakRssMiB: lastHwm,
    rssLate: {
      min: Math.min(...late.map((x) => x.rssMiB)),
      max: Math.max(...late.map((x) => x.rssMiB)),
      slopePerMin: 60 * slope(late.map((x) => [x.t, x.rssMiB])),
      growthMiB: meanRss(samples, seconds, 0.75, 1) - meanRss(samples, seconds, 0.25, 0.5),
    },
    forwarderCpuUsPerEvent: (lastCpu * 1000) / Math.max(1, delivered),
    forwarderThreadsUsPerEvent: threads,
    fakeTeleportCpuUsPerEvent: (fakeCpu * 1000) / Math.max(1, delivered),
    intakeCpuUsPerEvent: (intakeCpu * 1000) / Math.max(1, delivered),
    intakeRequests: final.accepted,
    machine,
    exitCode: code,
    samples,
  };
}

const all: ExportFigures[] = [];
console.log(
  `export benchmark: dataset ${opt.dataset}, forwarder: ${cli.how}${opt.launch === 'shipped' ? ` with ${launchDescription()}` : ' with node defaults'}; the fake auth service runs in this process`,
);
const order = (run: number): Kind[] => (run % 2 === 0 ? kinds : [...kinds].reverse());
for (const [run, kind] of Array.from({ length: runs }, (_, r) => order(r).map((k) => [r, k] as const)).flat()) {
  const f = await runOnce(run, kind);
  all.push(f);
  const every = Math.max(1, Math.floor(f.samples.length / 12));
  console.log(
    `  ${f.delivered} of ${f.expected} logs in ${f.seconds.toFixed(1)} s${f.partial ? ' (PARTIAL: stopped at --max-seconds)' : ''}: ` +
      `${f.eventsPerSecond.toFixed(0)} events/s end to end (first log after ${f.firstLogSeconds.toFixed(1)} s; ${f.steadyEventsPerSecond.toFixed(0)}/s from then), ` +
      `${f.intakeRequests} intake requests, ${f.distinctUids} distinct uids`,
  );
  console.log(
    `  peak rss ${f.peakRssMiB.toFixed(0)} MiB; second half rss ${f.rssLate.min.toFixed(0)}–${f.rssLate.max.toFixed(0)} MiB, ` +
      `slope ${f.rssLate.slopePerMin.toFixed(1)} MiB/min; mean rss of the last quarter minus the second quarter ${f.rssLate.growthMiB.toFixed(0)} MiB; exit ${String(f.exitCode)}`,
  );
  console.log(
    `  cpu per event: forwarder ${f.forwarderCpuUsPerEvent.toFixed(1)} µs (${Object.entries(
      f.forwarderThreadsUsPerEvent,
    )
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(', ')}), ` +
      `fake auth service ${f.fakeTeleportCpuUsPerEvent.toFixed(1)} µs, intake ${f.intakeCpuUsPerEvent.toFixed(1)} µs; ` +
      `the machine's 2 cores were ${(100 * f.machine.busy).toFixed(0)}% busy (other processes: ${f.machine.otherCores.toFixed(2)} cores), ${(100 * f.machine.steal).toFixed(0)}% stolen`,
  );
  console.log(
    `  rss samples (s: MiB, delivered): ${f.samples
      .filter((_, i) => i % every === 0)
      .map((x) => `${x.t.toFixed(0)}: ${x.rssMiB.toFixed(0)}, ${x.delivered}`)
      .join(' | ')}`,
  );
}

for (const kind of kinds) {
  const mine = all.filter((f) => f.kind === kind);
  if (runs < 2 && kinds.length < 2) break;
  const s = (k: (f: ExportFigures) => number) => spread(mine.map(k));
  console.log(
    `\nsummary of ${kind} over ${runs} runs (median (min–max)): ${fmt(s((f) => f.eventsPerSecond))} events/s end to end, ` +
      `peak rss ${fmt(s((f) => f.peakRssMiB))} MiB, late growth ${fmt(s((f) => f.rssLate.growthMiB))} MiB, forwarder cpu ${fmt(
        s((f) => f.forwarderCpuUsPerEvent),
        1,
      )} µs/event`,
  );
}
if (kinds.length === 2) {
  // each run's pair was measured back to back: the ratio of the pair, then its median
  const ratios = Array.from({ length: runs }, (_, r) => {
    const pair = all.filter((_, i) => Math.floor(i / 2) === r);
    const rate = (k: Kind) => pair.find((f) => f.kind === k)!.eventsPerSecond;
    return rate('backfill') / rate('live');
  });
  console.log(
    `backfill / live events/s, per pair: ${ratios.map((x) => x.toFixed(2)).join(', ')}; median ${fmt(spread(ratios), 2)}`,
  );
}
const med = spread(all.map((f) => f.eventsPerSecond)).median;
const rss = spread(all.map((f) => f.peakRssMiB)).median;
const flat = all.every((f) => f.rssLate.growthMiB < 25);
console.log(
  `targets on 2 cores: >= 20,000 events/s: ${med >= 20_000 ? 'met' : 'NOT met'} (${med.toFixed(0)}); ` +
    `peak rss < 250 MiB: ${rss < 250 ? 'met' : 'NOT met'} (${rss.toFixed(0)}); rss not growing (last quarter's mean within 25 MiB of the second quarter's): ${flat ? 'yes' : 'NO'}`,
);
if (opt.json) writeFileSync(opt.json, JSON.stringify({ options: opt, results: all }, null, 2));
const bad = all.some((f) => f.partial || f.delivered !== f.expected);
process.exit(bad ? 1 : 0);
