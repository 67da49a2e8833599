// small measurements quoted in BENCHMARKS.md:
//
//   node --import tsx bench/micro.ts gzip      cpu per call of node:zlib's async gzip against gzipSync, for a
//                                             600-byte body (one ingest event) and a 600 KB one (a full batch)
//   node --import tsx bench/micro.ts imports   rss and heap of a fresh node process after importing each of the
//                                             forwarder's heavy dependencies
//   node --import tsx bench/micro.ts batch     cpu per record of writing 500-record classic-level batches (as the
//                                             spool does: ~600-byte values, not synced, on /dev/shm) as an array
//                                             batch, a chained batch, and one joined value
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { repoRoot } from './procs.js';

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

const what = process.argv[2];
if (what === 'gzip') await gzip();
else if (what === 'imports') imports();
else if (what === 'batch') await batch();
else throw new Error('usage: bench/micro.ts gzip|imports|batch');
