// small measurements quoted in BENCHMARKS.md:
//
//   node --import tsx bench/micro.ts gzip      cpu per call of node:zlib's async gzip against gzipSync, for a
//                                             600-byte body (one ingest event) and a 600 KB one (a full batch)
//   node --import tsx bench/micro.ts imports   rss and heap of a fresh node process after importing each of the
//                                             forwarder's heavy dependencies
//   node --import tsx bench/micro.ts batch     cpu per record of writing 500-record classic-level batches (as the
//                                             spool does: ~600-byte values, not synced, on /dev/shm) as an array
//                                             batch, a chained batch, and one joined value
//   node --import tsx bench/micro.ts hotpath   ns per call of pieces of the ingest's per-request path, each beside
//                                             what it replaced: the event time's reading, the decode's awaits, the
//                                             tag of a path, the latency histogram, the received-records count
//   node --import tsx bench/micro.ts journal   µs a call, seen from the main thread, of what a request's
//                                             acknowledgement waits for: a LevelDB put (one round trip through the
//                                             thread pool) without and with sync, against the journal's write(2)
//                                             and write(2) + fdatasync, 600-byte values, in the working directory
import { execFileSync } from 'node:child_process';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Histogram, Registry } from 'prom-client';
import { repoRoot } from './procs.js';
import { eventBody } from './events.js';
import { rfc3339ToMs } from '../src/sources/http/time.js';
import { decodePlain, decodeRequest, tagFromPath } from '../src/sources/http/decode.js';
import { codeHistogram, codeLabel } from '../src/telemetry/code-histogram.js';
import { createMetrics } from '../src/telemetry/metrics.js';

const gzipAsync = promisify(zlib.gzip);

async function gzip(): Promise<void> {
  const event = Buffer.from(
    JSON.stringify({ event: 'session.start', uid: '5b0e3c2a-1f4d-4c8e-9a7b-6d2f0e1c3b4a', pad: 'x'.repeat(520) }),
  );
  for (const [name, body, n] of [
    ['600 B', event, 2000],
    ['600 KB', Buffer.concat(Array.from({ length: 1000 }, () => event)), 50],
  ] as const) {
    for (const level of [6, 1]) {
      let c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) await gzipAsync(body, { level });
      let c = process.cpuUsage(c0);
      const asyncUs = (c.user + c.system) / n;
      c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) zlib.gzipSync(body, { level });
      c = process.cpuUsage(c0);
      const syncUs = (c.user + c.system) / n;
      console.log(
        `${name} body, level ${level}: async gzip ${asyncUs.toFixed(0)} µs cpu per call, gzipSync ${syncUs.toFixed(0)} µs`,
      );
    }
  }
}

function imports(): void {
  const modules = [
    '',
    '@datadog/datadog-api-client/dist/packages/datadog-api-client-v2/apis/LogsApi.js',
    'fastify',
    '@grpc/grpc-js',
    '@grpc/proto-loader',
    'classic-level',
    'pino',
  ];
  for (const m of modules) {
    const script =
      `const m = ${JSON.stringify(m)}; (m ? import(m) : Promise.resolve()).then(() => { const u = process.memoryUsage(); ` +
      `console.log((u.rss / 1048576).toFixed(0) + ' ' + (u.heapUsed / 1048576).toFixed(0)); });`;
    const [rss, heap] = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoRoot,
      encoding: 'utf8',
    })
      .trim()
      .split(' ');
    console.log(`${(m || 'node alone').padEnd(80)} rss ${rss} MiB, heap used ${heap} MiB`);
  }
}

async function batch(): Promise<void> {
  const dir = mkdtempSync(join('/dev/shm', 'tdf-micro-'));
  const db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  const value = 'v'.repeat(600);
  const perBatch = 500;
  const rounds = 400;
  let seq = 0;
  const keys = () => Array.from({ length: perBatch }, () => `q!${String(seq++).padStart(16, '0')}!1795318372386!600`);
  const noSync = { keyEncoding: 'utf8', valueEncoding: 'utf8', sync: false } as const;
  const ways: Array<[string, () => Promise<void>]> = [
    [
      'array batch, db.batch(ops)',
      () =>
        db.batch(
          keys().map((key) => ({ type: 'put' as const, key, value })),
          noSync,
        ),
    ],
    [
      'chained batch, db.batch().put()…write()',
      () => {
        const chain = db.batch();
        for (const key of keys()) chain.put(key, value);
        return chain.write(noSync);
      },
    ],
    [
      'one joined value, db.put()',
      () => db.put(keys()[0]!, Array.from({ length: perBatch }, () => value).join('\n'), noSync),
    ],
  ];
  try {
    for (const [name, write] of ways) {
      for (let i = 0; i < 50; i++) await write();
      const c0 = process.cpuUsage();
      for (let i = 0; i < rounds; i++) await write();
      const c = process.cpuUsage(c0);
      console.log(`${name.padEnd(45)} ${((c.user + c.system) / (rounds * perBatch)).toFixed(2)} µs cpu per record`);
    }
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// the regex reading of event times that rfc3339ToMs replaced (test/sources/http/time.test.ts holds it as the spec)
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})?$/;
function regexTime(text: string): number | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (new Date(ms).getUTCDate() !== Number(d)) return null;
  return frac === undefined ? ms : ms + Number(frac.slice(0, 3).padEnd(3, '0'));
}

/** best of 7 rounds of n calls, in ns a call */
async function perCall(n: number, fn: (i: number) => unknown): Promise<number> {
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const r = fn(i);
      if (r instanceof Promise) await r;
    }
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  return best;
}

async function hotpath(): Promise<void> {
  const start = Date.UTC(2026, 11, 7);
  const bodies = Array.from({ length: 1000 }, (_, n) => Buffer.from(eventBody('micro', n, start + n * 137)));
  const times = bodies.map((b) => (JSON.parse(b.toString()) as { time: string }).time);
  const limits = { maxDecompressedBytes: 1 << 24, maxRecords: 10_000 };
  const input = (i: number) => ({
    tag: 'test.log',
    contentType: 'application/json',
    body: bodies[i % 1000]!,
    query: {},
  });
  const urls = Array.from({ length: 1000 }, () => ['/test', 'log'].join('.')); // a new string each, as node's parser gives
  const theirs = new Histogram({ name: 'h', help: 'h', labelNames: ['code'], buckets: [0.001, 0.01, 0.1, 1, 10] });
  const ours = codeHistogram(new Registry(), { name: 'h', help: 'h', buckets: [0.001, 0.01, 0.1, 1, 10] });
  const metrics = createMetrics({}, { sessionTagPrefix: 'session', defaultMetrics: false });
  const records = [{ tag: 'test.log' }];
  let lastUrl = '';
  let lastTag: string | null = null;
  const rows: Array<[string, number, number]> = [
    [
      'event time',
      await perCall(1e6, (i) => regexTime(times[i % 1000]!)),
      await perCall(1e6, (i) => rfc3339ToMs(times[i % 1000]!)),
    ],
    [
      'decode one event (awaited)',
      await perCall(2e5, (i) => decodeRequest(input(i), limits, start)),
      await perCall(2e5, (i) => decodePlain(input(i), limits, start)),
    ],
    [
      'tag of the path (server memo)',
      await perCall(1e6, (i) => tagFromPath(urls[i % 1000]!)),
      await perCall(1e6, (i) => {
        // as the ingest server does: the last url and its tag
        const url = urls[i % 1000]!;
        if (url !== lastUrl) {
          lastTag = tagFromPath(url);
          lastUrl = url;
        }
        return lastTag;
      }),
    ],
    [
      'latency histogram observe',
      await perCall(1e6, (i) => theirs.observe({ code: codeLabel(200) }, (i % 50) / 1000)),
      await perCall(1e6, (i) => ours.observe(200, (i % 50) / 1000)),
    ],
    [
      // sources in turn miss the last-tag shortcut every time, as every request did before it
      'records received count',
      await perCall(1e6, (i) => metrics.observeRecords(i % 2 === 0 ? 'http' : 'teleport', records)),
      await perCall(1e6, () => metrics.observeRecords('http', records)),
    ],
  ];
  console.log('ns a call, best of 7 rounds: before (what was replaced) -> now');
  for (const [name, before, now] of rows) {
    console.log(
      `${name.padEnd(30)} ${Number.isNaN(before) ? '   -' : before.toFixed(0).padStart(5)} -> ${now.toFixed(0).padStart(5)}`,
    );
  }
}

async function journal(): Promise<void> {
  // the disk the storage is on, not /dev/shm: syncs are what this compares
  const dir = mkdtempSync(join(process.cwd(), '.tdf-micro-'));
  const db = new ClassicLevel<string, string>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  const fd = fs.openSync(join(dir, 'journal'), 'w');
  const value = 'v'.repeat(600);
  const buf = Buffer.from(value);
  const datasync = () => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
  const ways: Array<[string, number, (i: number) => unknown]> = [
    ['leveldb put, no sync', 20_000, (i) => db.put(`k${i}`, value, { sync: false })],
    ['leveldb put, sync', 2_000, (i) => db.put(`k${i}`, value, { sync: true })],
    ['journal write(2)', 20_000, () => fs.writeSync(fd, buf)],
    ['journal write(2) + fdatasync', 2_000, async () => (fs.writeSync(fd, buf), await datasync())],
  ];
  try {
    for (const [name, n, fn] of ways) {
      const t = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await fn(i);
      console.log(`${name.padEnd(30)} ${(Number(process.hrtime.bigint() - t) / 1000 / n).toFixed(1).padStart(7)} µs`);
    }
  } finally {
    fs.closeSync(fd);
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const what = process.argv[2];
if (what === 'gzip') await gzip();
else if (what === 'imports') imports();
else if (what === 'batch') await batch();
else if (what === 'hotpath') await hotpath();
else if (what === 'journal') await journal();
else throw new Error('usage: bench/micro.ts gzip|imports|batch|hotpath|journal');
