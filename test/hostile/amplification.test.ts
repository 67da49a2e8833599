// one small request that turns into a great many records: `[{},{},…]` with a million empty objects is 3 MB (3 KB
// gzipped), far under ingest.body-limit (32 MiB) and ingest.max-decompressed (64 MiB), yet each object becomes a
// routed record (~125 bytes in the spool, far more in memory). a bound on records or routed bytes per request
// (413) is expected; today there is none: the forwarder's rss passes 2 GiB on this request, and a 30 MB body runs
// it out of heap ("JavaScript heap out of memory") after blocking the event loop for about two minutes.
// marked todo, and run only with TDF_FAULTS_LONG=1 (about 30 s of cpu).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createRig } from '../helpers/load.js';

const API_KEY = 'amplif0123456789abcdef0123456789';
const LONG = process.env.TDF_FAULTS_LONG === '1';

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

test('a 3 KB gzipped request of a million empty records: refused (413) or handled within 1 GiB of rss', {
  timeout: 180_000,
  skip: LONG ? false : 'about 30 s of cpu; set TDF_FAULTS_LONG=1',
  todo: 'no bound on records per request: rss passes 2 GiB (measured), a 30 MB body runs the heap out',
}, async (t) => {
  const rig = await createRig(t, { apiKey: API_KEY });
  await rig.intake.setDown(true);
  const fw = await rig.start();
  const pid = fw.proc.pid!;
  const body = gzipSync('[' + '{},'.repeat(999_999) + '{}]');
  let peak = rssMiB(pid);
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // gone
    }
  }, 250);
  const status = await new Promise<string>((resolve) => {
    const req = https.request({
      host: '127.0.0.1', port: fw.port, path: '/test.log', method: 'POST', agent: false, servername: 'localhost',
      ca: rig.tls.ca.cert, cert: rig.tls.client.cert, key: rig.tls.client.key,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.statusCode)));
    });
    req.on('error', (e) => resolve(`error ${e.message}`));
    req.end(body);
  });
  clearInterval(sampler);
  const spooled = fw.proc.exitCode === null ? (await fw.getJson('/status')).spool.records : null;
  t.diagnostic(`wire ${body.length} bytes -> answer ${status}, ${spooled} records spooled, peak rss ${peak.toFixed(0)} MiB`);
  await fw.stop();
  assert.ok(status === '413' || peak < 1024, `answer ${status} with a peak rss of ${peak.toFixed(0)} MiB`);
});
