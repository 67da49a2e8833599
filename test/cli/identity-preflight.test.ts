// start checks the poller's identity before it opens anything (spool, admin server, sink, ingest): a missing or
// unusable file exits 2 with the command that makes it. with teleport.refresh.enabled an expired identity is
// still waited for. all through the real cli.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, createCert } from '../../src/tls/certs.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';
import { runForwarder, writeIngestConfig } from '../helpers/forwarder.js';
import { writeTlsFiles } from '../helpers/mtls.js';
import { unusedPort } from '../helpers/ports.js';

const API_KEY = 'idp0123456789abcdef0123456789abcd';
const HOUR = 3600_000;

async function setup(t: import('node:test').TestContext, teleport = 'identity = "identity"') {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-idpre-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = writeIngestConfig(dir, writeTlsFiles(dir), 'http://127.0.0.1:1', {
    extra: `\n[teleport]\naddr = "127.0.0.1:${await unusedPort()}"\n${teleport}\n`,
  });
  return { dir, config, storage: join(dir, 'storage') };
}

/** start, run to its exit; nothing may have been opened */
async function startRefused(config: string, storage: string) {
  const fw = await runForwarder(['start', '--config', config], { DD_API_KEY: API_KEY }, { waitForIngest: false });
  const code = await fw.exited;
  const opened = fw.logs.filter((l) => /listening|spool opened|opened the spool/i.test(String(l.msg)));
  assert.deepEqual(opened, [], 'nothing was opened');
  assert.equal(existsSync(storage), false, 'the spool was not created');
  return { code, stderr: fw.stderr() };
}

function identity(dir: string, o: { notBefore?: Date; ttlHours?: number } = {}): string {
  const ca = createCA({ commonName: 'example.com' });
  const c = createCert(ca, { usage: 'client', commonName: 'teleport-datadog-forwarder', ...o });
  const file = join(dir, 'identity');
  writeFileSync(file, formatIdentityFile({ key: c.key, cert: c.cert, cas: [ca.cert] }), { mode: 0o600 });
  return file;
}

test('a missing identity file: exit 2 before anything opens, with the tctl command that makes it', async (t) => {
  const { dir, config, storage } = await setup(t);
  const r = await startRefused(config, storage);
  assert.equal(r.code, 2, r.stderr);
  const file = join(dir, 'identity');
  assert.match(
    r.stderr,
    new RegExp(`^error: ${config}: key "teleport\\.identity": teleport identity file ${file} does not exist: `),
  );
  assert.ok(
    r.stderr.includes(`tctl auth sign --user=teleport-datadog-forwarder --format=file --ttl=720h --out=${file}`),
    r.stderr,
  );
  assert.match(r.stderr, /or let tbot write it there/);
});

test('an identity file that is not one, and separate cert files that are missing: exit 2 with what makes them', async (t) => {
  const { dir, config, storage } = await setup(t);
  writeFileSync(join(dir, 'identity'), 'not an identity\n', { mode: 0o600 });
  const r = await startRefused(config, storage);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /key "teleport\.identity": teleport identity file .* --format=file --ttl=720h --out=/s);

  const tls = await setup(t, 'ca = "tp/ca.crt"\ncert = "tp/client.crt"\nkey = "tp/client.key"');
  const r2 = await startRefused(tls.config, tls.storage);
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /key "teleport\.cert": teleport certificate file .*client\.crt does not exist: /);
  assert.match(r2.stderr, /tctl auth sign --user=teleport-datadog-forwarder --format=tls/);
});

test('an expired identity: exit 2 before anything opens without refresh; waited for with refresh on', async (t) => {
  const { dir, config, storage } = await setup(t);
  identity(dir, { notBefore: new Date(Date.now() - 48 * HOUR), ttlHours: 1 });
  const r = await startRefused(config, storage);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /teleport client certificate in .*identity expired at /);
  // the user is the certificate's own
  assert.ok(
    r.stderr.includes(
      `tctl auth sign --user=teleport-datadog-forwarder --format=file --ttl=720h --out=${join(dir, 'identity')}`,
    ),
    r.stderr,
  );

  // refresh on: start runs (tbot renews the file), and says it waits
  const fw = await runForwarder(['start', '--config', config, '--teleport-refresh-enabled'], { DD_API_KEY: API_KEY });
  t.after(() => fw.stop());
  await fw.waitForLog((l) => /expired/.test(String(l.msg)) && /renew/i.test(JSON.stringify(l)));
  assert.equal(fw.proc.exitCode, null, 'still running');
  assert.ok(existsSync(storage));
  await fw.stop();
});
