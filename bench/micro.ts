// two small measurements quoted in BENCHMARKS.md:
//
//   node --import tsx bench/micro.ts gzip      cpu per call of node:zlib's async gzip against gzipSync, for a
//                                             600-byte body (one ingest event) and a 600 KB one (a full batch)
//   node --import tsx bench/micro.ts imports   rss and heap of a fresh node process after importing each of the
//                                             forwarder's heavy dependencies
import { execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { repoRoot } from './procs.js';

const gzipAsync = promisify(zlib.gzip);

async function gzip(): Promise<void> {
  const event = Buffer.from(JSON.stringify({ event: 'session.start', uid: '5b0e3c2a-1f4d-4c8e-9a7b-6d2f0e1c3b4a', pad: 'x'.repeat(520) }));
  for (const [name, body, n] of [['600 B', event, 2000], ['600 KB', Buffer.concat(Array.from({ length: 1000 }, () => event)), 50]] as const) {
    for (const level of [6, 1]) {
      let c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) await gzipAsync(body, { level });
      let c = process.cpuUsage(c0);
      const asyncUs = (c.user + c.system) / n;
      c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) zlib.gzipSync(body, { level });
      c = process.cpuUsage(c0);
      const syncUs = (c.user + c.system) / n;
      console.log(`${name} body, level ${level}: async gzip ${asyncUs.toFixed(0)} µs cpu per call, gzipSync ${syncUs.toFixed(0)} µs`);
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
    const script = `const m = ${JSON.stringify(m)}; (m ? import(m) : Promise.resolve()).then(() => { const u = process.memoryUsage(); ` +
      `console.log((u.rss / 1048576).toFixed(0) + ' ' + (u.heapUsed / 1048576).toFixed(0)); });`;
    const [rss, heap] = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' }).trim().split(' ');
    console.log(`${(m || 'node alone').padEnd(80)} rss ${rss} MiB, heap used ${heap} MiB`);
  }
}

const what = process.argv[2];
if (what === 'gzip') await gzip();
else if (what === 'imports') imports();
else throw new Error('usage: bench/micro.ts gzip|imports');
