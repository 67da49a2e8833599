// small requests that turn into a great many records: `[{},{},…]` is three bytes a record before compression and
// almost nothing after. each record would become a routed log (~125 bytes in the spool, far more in memory), so
// ingest.max-records bounds the records per request (413 above it). the bound is checked on a scan of the body
// before it is parsed (src/sources/http/shape.ts), which stops at the first record over it. the first case (a
// million records, 3 KB on the wire) runs by default. the second is the worst the default limits let through
// (64 MiB decompressed, 22 million records, 65 KB on the wire) and runs only with TDF_FAULTS_LONG=1: it used to
// cost ~30 s of blocked event loop and ~2.8 GiB of rss before the 413, and now answers 413 before parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createRig } from '../helpers/load.js';

const API_KEY = 'amplif0123456789abcdef0123456789';
const LONG = process.env.TDF_FAULTS_LONG === '1';
const MiB = 1024 * 1024;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

async function postEmptyRecords(
  t: Parameters<typeof createRig>[0] & { diagnostic(s: string): void },
  records: number,
): Promise<{ status: string; peak: number; spooled: number | null }> {
  const rig = await createRig(t, { apiKey: API_KEY });
  await rig.intake.setDown(true);
  const fw = await rig.start();
  const pid = fw.proc.pid!;
  const body = gzipSync('[' + '{},'.repeat(records - 1) + '{}]');
  let peak = rssMiB(pid);
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, rssMiB(pid));
    } catch {
      // gone
    }
  }, 100);
  const started = Date.now();
  const status = await new Promise<string>((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: fw.port,
        path: '/test.log',
        method: 'POST',
        agent: false,
        servername: 'localhost',
        ca: rig.tls.ca.cert,
        cert: rig.tls.client.cert,
        key: rig.tls.client.key,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
      },
    );
    req.on('error', (e) => resolve(`error ${e.message}`));
    req.end(body);
  });
  const elapsed = Date.now() - started;
  clearInterval(sampler);
  const spooled = fw.proc.exitCode === null ? (await fw.getJson('/status')).spool.records : null;
  t.diagnostic(
    `${records} records, ${body.length} bytes on the wire -> answer ${status} after ${elapsed} ms, ${spooled} records spooled, peak rss ${peak.toFixed(0)} MiB`,
  );
  await fw.stop();
  return { status, peak, spooled };
}

test(
  'a 3 KB gzipped request of a million empty records: 413 (ingest.max-records), nothing spooled, rss under 1 GiB',
  { timeout: 120_000 },
  async (t) => {
    const r = await postEmptyRecords(t, 1_000_000);
    assert.equal(r.status, '413');
    assert.equal(r.spooled, 0);
    assert.ok(r.peak < 1024, `peak rss ${r.peak.toFixed(0)} MiB`);
  },
);

test(
  'the worst the default limits let through (64 MiB decompressed, 22 million records): 413 within 1 GiB of rss (TDF_FAULTS_LONG=1)',
  {
    timeout: 300_000,
    skip: LONG ? false : 'builds a 64 MiB body; set TDF_FAULTS_LONG=1',
  },
  async (t) => {
    const r = await postEmptyRecords(t, Math.floor((64 * MiB - 10) / 3));
    assert.equal(r.status, '413');
    assert.ok(r.peak < 1024, `peak rss ${r.peak.toFixed(0)} MiB`);
  },
);
