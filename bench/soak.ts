// soak: a steady load through the real cli for a bounded time while the local datadog intake flaps (down and up,
// 500 bursts, 429s with rate-limit headers, slow answers, connection resets). every few seconds it samples the
// forwarder's rss, the spool depth and the counts; at the end it lets the spool drain and checks, by unique id,
// that delivered / acknowledged is exactly 1. clients retry refused posts with the same id, like
// teleport-event-handler. exits 1 when an acknowledged record is missing, the spool does not drain, or rss grew:
// the last quarter's median more than --max-rss-growth MiB (default 25) over the first quarter's, after warm-up.
//
//   node --import tsx bench/soak.ts --duration 120 [--rate 400] [--connections 8] [--seed 1] [--json out.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRig, startLoad, statusLine, tally, type Rig } from '../test/helpers/load.js';
import { createPrng } from '../test/helpers/prng.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '120' },
    rate: { type: 'string', default: '400' },
    connections: { type: 'string', default: '8' },
    seed: { type: 'string', default: '1' },
    sample: { type: 'string', default: '5' },
    'max-rss-growth': { type: 'string', default: '25' },
    json: { type: 'string' },
  },
});
const DURATION_S = Number(args.duration);
const RATE = Number(args.rate);
const CONNECTIONS = Number(args.connections);
const SAMPLE_S = Number(args.sample);
const MAX_RSS_GROWTH_MIB = Number(args['max-rss-growth']);
const API_KEY = 'soak000123456789abcdef0123456789';

interface Sample {
  t: number;
  rssMiB: number;
  spoolRecords: number;
  acked: number;
  delivered: number;
  phase: string;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<number> {
  const prng = createPrng(Number(args.seed));
  const cleanups: Array<() => unknown> = [];
  const rig: Rig = await createRig(
    { after: (fn) => cleanups.push(fn) },
    { apiKey: API_KEY, datadog: 'batch-max-entries = 500' },
  );
  try {
    const fw = await rig.start();
    const pid = fw.proc.pid!;
    const load = startLoad({
      port: fw.port!,
      tls: rig.tls,
      prefix: 'soak',
      connections: CONNECTIONS,
      retry: true,
      backoff: { baseMs: 250, capMs: 2500 },
      pauseMs: Math.max(0, Math.round((CONNECTIONS / RATE) * 1000)),
    });
    const began = Date.now();
    const samples: Sample[] = [];
    let phase = 'steady';
    const log = (line: string) =>
      process.stdout.write(`${((Date.now() - began) / 1000).toFixed(0).padStart(5)} s  ${line}\n`);
    const sampler = setInterval(() => {
      void fw.getJson('/status').then(
        (st) => {
          const s: Sample = {
            t: (Date.now() - began) / 1000,
            rssMiB: rssMiB(pid),
            spoolRecords: st.spool.records,
            acked: load.acked.size,
            delivered: rig.counts.size,
            phase,
          };
          samples.push(s);
          log(
            `rss ${s.rssMiB.toFixed(1)} MiB  spool ${String(s.spoolRecords).padStart(6)}  acked ${String(s.acked).padStart(7)}  delivered ${String(s.delivered).padStart(7)}  ${phase}`,
          );
        },
        (err: Error) => log(`status failed: ${err.message}`),
      );
    }, SAMPLE_S * 1000);

    // the intake flaps: each cycle one fault, then a quiet spell
    const faults: string[] = [];
    while ((Date.now() - began) / 1000 < DURATION_S - 10) {
      const kind = prng.pick(['down', '500 burst', '429 burst', 'slow', 'resets'] as const);
      phase = kind;
      faults.push(kind);
      switch (kind) {
        case 'down':
          await rig.intake.setDown(true);
          await sleep(prng.int(3000, 8000));
          await rig.intake.setDown(false);
          break;
        case '500 burst':
          rig.intake.inject({ status: prng.pick([500, 502, 503]), times: prng.int(5, 15) });
          break;
        case '429 burst':
          rig.intake.inject({
            status: 429,
            times: prng.int(4, 12),
            headers: {
              'x-ratelimit-limit': '1000',
              'x-ratelimit-remaining': '0',
              'x-ratelimit-period': '10',
              'x-ratelimit-reset': String(prng.int(1, 3)),
            },
          });
          break;
        case 'slow':
          rig.intake.inject({ delayMs: prng.int(500, 2000), times: prng.int(4, 12) });
          break;
        case 'resets':
          rig.intake.inject({ reset: true, times: prng.int(4, 12) });
          break;
      }
      await sleep(prng.int(4000, 10_000));
      phase = 'steady';
    }
    while ((Date.now() - began) / 1000 < DURATION_S) await sleep(200);
    rig.intake.clearFaults();
    await rig.intake.setDown(false);
    phase = 'drain';
    await load.stop();
    const stoppedAt = Date.now();
    const drainGuard = Date.now() + 180_000;
    let drained = false;
    while (Date.now() < drainGuard) {
      const st = await fw.getJson('/status');
      if (st.spool.records === 0 && [...load.acked].every((id) => rig.counts.has(id))) {
        drained = true;
        break;
      }
      await sleep(250);
    }
    const drainS = (Date.now() - stoppedAt) / 1000;
    clearInterval(sampler);
    const finalRss = rssMiB(pid);
    const code = await fw.stop();

    const tl = tally(load.acked, rig.counts);
    const warm = samples.filter((s) => s.t >= Math.min(30, DURATION_S / 4));
    const q = Math.max(1, Math.floor(warm.length / 4));
    const rssFirst = median(warm.slice(0, q).map((s) => s.rssMiB));
    const rssLast = median(warm.slice(-q).map((s) => s.rssMiB));
    const peakSpool = Math.max(0, ...samples.map((s) => s.spoolRecords));
    const ratio = tl.acknowledged === 0 ? NaN : tl.delivered / tl.acknowledged;
    const summary = {
      durationS: DURATION_S,
      rate: RATE,
      connections: CONNECTIONS,
      seed: prng.seed,
      faults: faults.join(', '),
      acknowledged: tl.acknowledged,
      delivered: tl.delivered,
      lost: tl.lost.length,
      duplicated: tl.duplicated,
      unacknowledgedDelivered: tl.unacknowledgedDelivered,
      deliveredOverAcknowledged: ratio,
      posts: load.sent(),
      statuses: statusLine(load.statuses),
      rssMiB: {
        firstQuarterMedian: rssFirst,
        lastQuarterMedian: rssLast,
        max: Math.max(...samples.map((s) => s.rssMiB)),
        final: finalRss,
      },
      peakSpoolRecords: peakSpool,
      drainedS: drainS,
      drained,
      exitCode: code,
      samples,
    };
    process.stdout.write(
      `\nsoak: ${DURATION_S} s at ~${RATE} posts/s on ${CONNECTIONS} connections (seed ${prng.seed})\n`,
    );
    process.stdout.write(`faults injected: ${summary.faults}\n`);
    process.stdout.write(
      `acknowledged ${tl.acknowledged}, delivered ${tl.delivered}, lost ${tl.lost.length}, duplicated ${tl.duplicated}, delivered/acknowledged ${ratio}\n`,
    );
    process.stdout.write(`posts ${load.sent()} (${statusLine(load.statuses)})\n`);
    process.stdout.write(
      `rss after warm-up: median ${rssFirst.toFixed(1)} MiB (first quarter) -> ${rssLast.toFixed(1)} MiB (last quarter), max ${summary.rssMiB.max.toFixed(1)} MiB\n`,
    );
    process.stdout.write(
      `spool: peak ${peakSpool} records; ${drained ? `drained to 0 in ${drainS.toFixed(1)} s after the load stopped` : 'DID NOT DRAIN'}\n`,
    );
    const grew = rssLast - rssFirst > MAX_RSS_GROWTH_MIB;
    if (grew)
      process.stdout.write(
        `RSS GREW: ${(rssLast - rssFirst).toFixed(1)} MiB, more than the ${MAX_RSS_GROWTH_MIB} MiB allowed (--max-rss-growth)\n`,
      );
    if (args.json) writeFileSync(args.json, JSON.stringify(summary, null, 2));
    return tl.lost.length === 0 && drained && ratio === 1 && code === 0 && !grew ? 0 : 1;
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`soak failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
