// a teleport.addr the poller cannot use, through the real cli: a port nothing listens on and a port that does not
// speak tls. the poller is degraded at once (status, /status with a warning), readiness stays with the ingest,
// and a port that answers in plain text is called that in the logs, the status and `check`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startFakeIntake } from '../../src/fakes/intake.js';
import { createCA, createCert } from '../../src/tls/certs.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';
import { runForwarder, writeIngestConfig } from '../helpers/forwarder.js';
import { writeTlsFiles } from '../helpers/mtls.js';
import { cliCommand, repoRoot } from '../helpers/paths.js';
import { unusedPort } from '../helpers/ports.js';

const API_KEY = 'unr0123456789abcdef0123456789abcd';
const NOT_TLS = /this port does not speak TLS: 127\.0\.0\.1:\d+ answered the TLS handshake with something else/;

async function setup(t: import('node:test').TestContext, addr: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-unreach-'));
  const intake = await startFakeIntake({ apiKeys: [API_KEY] });
  t.after(async () => {
    await intake.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // a well-formed identity: nothing gets as far as checking it
  const ca = createCA({ commonName: 'example.com' });
  const c = createCert(ca, { usage: 'client', commonName: 'teleport-datadog-forwarder' });
  writeFileSync(join(dir, 'identity'), formatIdentityFile({ key: c.key, cert: c.cert, cas: [ca.cert] }), {
    mode: 0o600,
  });
  const config = writeIngestConfig(dir, writeTlsFiles(dir), intake.url, {
    extra: `\n[teleport]\naddr = "${addr}"\nidentity = "identity"\n`,
  });
  return { dir, config };
}

async function startForwarder(t: import('node:test').TestContext, config: string) {
  const fw = await runForwarder(['start', '--config', config, '--teleport-mode', 'direct'], { DD_API_KEY: API_KEY });
  t.after(() => fw.stop());
  const admin = await fw.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('admin server listening'));
  return { fw, base: `http://127.0.0.1:${admin.port}` };
}

/** the cli, without blocking this process: the plain http server it dials lives here */
async function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const p = spawn(cliCommand[0]!, [...cliCommand.slice(1), ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DD_API_KEY: API_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  p.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const status = await new Promise<number | null>((resolve) => p.on('close', (code) => resolve(code)));
  return { status, stdout, stderr };
}

/** /status once the poller's first call has failed */
async function failedStatus(base: string): Promise<any> {
  const end = Date.now() + 30_000;
  for (;;) {
    const doc = (await (await fetch(`${base}/status`)).json()) as any;
    if (doc.teleport?.lastError) return doc;
    if (Date.now() > end) throw new Error(`the poller never failed: ${JSON.stringify(doc.teleport)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a Teleport that was never reached is degraded at once; /readyz stays with the ingest', async (t) => {
  const { config } = await setup(t, `127.0.0.1:${await unusedPort()}`);
  const { fw, base } = await startForwarder(t, config);
  const doc = await failedStatus(base);
  // seconds after start, long before the minute after which a poller that stopped reading is warned about
  assert.ok(doc.uptimeSeconds < 60, `uptime ${doc.uptimeSeconds}`);
  const check = doc.checks.find((c: any) => c.name === 'teleport');
  assert.equal(check.state, 'degraded', JSON.stringify(check));
  assert.match(check.detail, /^running, has not reached Teleport yet: .*ECONNREFUSED/);
  assert.ok(
    doc.warnings.some((w: string) => /^The Teleport poller has not reached Teleport yet \(failing for /.test(w)),
    doc.warnings.join('\n'),
  );
  // the ingest takes events: readiness holds
  const ready = await fetch(`${base}/readyz`);
  assert.equal(ready.status, 200);
  // the status command: degraded on its first line and on the teleport line
  const s = await cli(['status', '--url', base]);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /^teleport-datadog-forwarder .*: ready, degraded: teleport\n/);
  assert.match(s.stdout, /\n {2}WARN {2}teleport {2}running, has not reached Teleport yet: /);
  assert.doesNotMatch(s.stdout, /ok {4}teleport/);
  await fw.stop();
});

test('a teleport.addr that does not speak TLS: the logs, /status and check say so and what to check', async (t) => {
  const plain = http.createServer((_req, res) => res.end('hello\n'));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  t.after(() => plain.close());
  const addr = `127.0.0.1:${(plain.address() as AddressInfo).port}`;
  const { config } = await setup(t, addr);
  const { fw, base } = await startForwarder(t, config);
  const line = await fw.waitForLog((l) => typeof l.msg === 'string' && NOT_TLS.test(l.msg));
  assert.match(line.hint, /^check teleport\.addr: it must be the Auth Service \(:3025\) or the Proxy/);
  assert.doesNotMatch(JSON.stringify(line), /SSL routines|deps\/openssl/, 'no raw openssl text');
  const doc = await failedStatus(base);
  assert.match(doc.teleport.lastError, NOT_TLS);
  assert.match(doc.teleport.lastError, /\(UNAVAILABLE: .*wrong version number\): check teleport\.addr/);
  await fw.stop();

  const c = await cli([
    'check',
    '--config',
    config,
    '--teleport-mode',
    'direct',
    '--datadog-url',
    'http://127.0.0.1:1',
  ]);
  assert.equal(c.status, 1, c.stdout + c.stderr);
  const connect = c.stdout.split('\n').find((l) => / teleport\.connect /.test(l)) ?? '(no teleport.connect line)';
  assert.match(connect, /^FAIL /);
  assert.match(connect, NOT_TLS);
  assert.match(connect, /: check teleport\.addr: it must be the Auth Service/);
});
