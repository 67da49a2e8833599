// `start` checks the files it needs the way `check` does, before it opens the spool or the admin server: a missing
// file or passphrase fails with check's words (where the setting was given, what was expected, what to do), and
// the ingest's own TLS errors name our settings, not fluentd's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, createCert, encryptKey } from '../../src/tls/certs.js';
import { secureContextOptions } from '../../src/sources/http/tls.js';
import { runStart } from '../../src/cli/start.js';
import { cliCommand } from '../helpers/paths.js';
import { runForwarder, writeConfig } from '../helpers/forwarder.js';
import { startFakeTeleport, generatedDataset } from '../../src/fakes/teleport.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';

const ca = createCA({ commonName: 'CA' });
const server = createCert(ca, { usage: 'server', commonName: 'Server', dnsNames: ['localhost'] });
const PASSPHRASE = 'start-files-passphrase-0123';

function material(t: { after(fn: () => void): void }, o: { encrypted?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-start-files-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  writeFileSync(join(dir, 'server.crt'), server.cert);
  writeFileSync(join(dir, 'server.key'), o.encrypted ? encryptKey(server.key, PASSPHRASE) : server.key, {
    mode: 0o600,
  });
  return dir;
}

/** a config whose ingest names ca, cert and key, with admin on `adminPort` */
function config(dir: string, o: { ca?: string; adminPort?: number; extra?: string } = {}): string {
  const file = join(dir, 'forwarder.toml');
  writeFileSync(
    file,
    `storage = "storage"
dry-run = true
[ingest]
host = "127.0.0.1"
port = 0
ca = "${o.ca ?? 'ca.crt'}"
cert = "server.crt"
key = "server.key"
${o.extra ?? ''}
[admin]
enabled = true
host = "127.0.0.1"
port = ${o.adminPort ?? 0}
`,
  );
  return file;
}

test("the ingest TLS errors name ingest.key-passphrase(-file), not fluentd's private_key_passphrase", () => {
  const key = encryptKey(server.key, PASSPHRASE);
  assert.throws(
    () => secureContextOptions({ ca: ca.cert, cert: server.cert, key }),
    (err: Error) => {
      assert.match(
        err.message,
        /encrypted and no passphrase was given: set ingest\.key-passphrase-file or ingest\.key-passphrase \(env TDF_INGEST_KEY_PASSPHRASE\)/,
      );
      assert.doesNotMatch(err.message, /private_key_passphrase/);
      return true;
    },
  );
  assert.throws(
    () => secureContextOptions({ ca: ca.cert, cert: server.cert, key, passphrase: 'wrong' }),
    (err: Error) => {
      assert.match(err.message, /the passphrase is wrong: check ingest\.key-passphrase-file/);
      assert.doesNotMatch(err.message, /private_key_passphrase|wrong'/);
      return true;
    },
  );
  assert.doesNotThrow(() => secureContextOptions({ ca: ca.cert, cert: server.cert, key, passphrase: PASSPHRASE }));
});

test("start with a missing CA file: exit 2 with check's words, before the spool or the admin server opens", async (t) => {
  const dir = material(t);
  // the admin port is held here: a start that got as far as the admin server would fail on it instead
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.after(() => holder.close());
  const adminPort = (holder.address() as { port: number }).port;
  const file = config(dir, { ca: 'missing-ca.crt', adminPort });
  const r = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'start', '--config', file], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 2, r.stderr);
  const first = r.stderr.split('\n')[0]!;
  assert.equal(
    first,
    `error: ${file}: key "ingest.ca": ${join(dir, 'missing-ca.crt')} does not exist: expected the PEM CA certificate that signs the client certificates (ca.crt); ` +
      `fix the path, or create the files with \`teleport-datadog-forwarder configure\` (\`teleport-datadog-forwarder check --config ${file}\` runs every check)`,
  );
  assert.doesNotMatch(r.stderr, /EADDRINUSE|admin/);
  assert.equal(existsSync(join(dir, 'storage')), false, 'the spool was not opened');
});

test(
  "start with an encrypted key and no passphrase: check's words, our setting names",
  { timeout: 60_000 },
  async (t) => {
    const dir = material(t, { encrypted: true });
    const file = config(dir);
    await assert.rejects(runStart(file, {}), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TDF_TLS');
      assert.match(
        err.message,
        new RegExp(
          `^${file}: key "ingest\\.key": ${join(dir, 'server.key')} is encrypted and no passphrase is set: set ingest\\.key-passphrase-file`,
        ),
      );
      assert.doesNotMatch(err.message, /private_key_passphrase\)/);
      return true;
    });
    assert.equal(existsSync(join(dir, 'storage')), false, 'the spool was not opened');

    // a wrong one, from a file: the file is named
    writeFileSync(join(dir, 'pass'), 'not-the-passphrase\n', { mode: 0o600 });
    const wrong = config(dir, { extra: 'key-passphrase-file = "pass"' });
    await assert.rejects(runStart(wrong, {}), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(`key "ingest\\.key": .*could not be decrypted: the passphrase from ${join(dir, 'pass')} is wrong`),
      );
      assert.doesNotMatch(err.message, /not-the-passphrase/);
      return true;
    });
    assert.equal(existsSync(join(dir, 'storage')), false);
  },
);

test(
  'start names the flag or environment variable a bad path came from, and lists every problem',
  { timeout: 60_000 },
  async (t) => {
    const dir = material(t);
    const file = config(dir);
    const flag = join(dir, 'nope.crt');
    await assert.rejects(runStart(file, { 'ingest-cert': flag }), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(
          `^flag --ingest-cert: key "ingest\\.cert": ${flag} does not exist: expected the PEM server certificate`,
        ),
      );
      return true;
    });
    const saved = process.env.TDF_INGEST_KEY;
    process.env.TDF_INGEST_KEY = join(dir, 'nope.key');
    t.after(() => {
      if (saved === undefined) delete process.env.TDF_INGEST_KEY;
      else process.env.TDF_INGEST_KEY = saved;
    });
    await assert.rejects(runStart(file, { 'ingest-cert': flag }), (err: Error) => {
      const lines = err.message.split('\n');
      assert.match(lines[0]!, /^2 problems with the files start needs/);
      assert.match(lines[1]!, /^ {2}flag --ingest-cert: key "ingest\.cert": /);
      assert.match(
        lines[2]!,
        /^ {2}environment variable TDF_INGEST_KEY: key "ingest\.key": .*nope\.key does not exist/,
      );
      return true;
    });
    assert.equal(existsSync(join(dir, 'storage')), false);
  },
);

test(
  'what start used to accept still starts: an expired CA beside the current one, a group-readable key; it warns, once',
  { timeout: 90_000 },
  async (t) => {
    const dir = material(t);
    // a CA rotation: the bundle holds an expired CA and the one that signed the certificates
    const old = createCA({ commonName: 'OldCA', notBefore: new Date(Date.now() - 10 * 24 * 3_600_000), ttlHours: 24 });
    writeFileSync(join(dir, 'ca.crt'), old.cert + ca.cert);
    // how the systemd unit and the helm chart share the key with the service: readable by its group
    chmodSync(join(dir, 'server.key'), 0o640);
    const file = config(dir);
    const fw = await runForwarder(['start', '--config', file], { TDF_DRY_RUN: 'true' });
    t.after(() => fw.stop('SIGKILL'));
    const warns = fw.logs.filter((l) => l.level === 40 || l.level === 'warn');
    assert.ok(
      warns.some((l) => l.check === 'ingest.ca' && /OldCA/.test(String(l.msg))),
      `the expired CA is warned about: ${JSON.stringify(warns)}`,
    );
    assert.equal(
      warns.filter((l) => l.check === 'secret-mode').length,
      0,
      'a group-readable key is not worth a line at every start',
    );
    assert.equal(await fw.stop(), 0);
  },
);

test(
  'a Teleport identity or Datadog API key file open to other users: start warns, naming it and chmod 600, and polls anyway; a group-readable one is not logged',
  { timeout: 90_000 },
  async (t) => {
    const ds = generatedDataset({
      dates: { start: new Date(Date.parse(new Date().toISOString().slice(0, 10))), days: 1 },
      eventsPerDate: 5,
      chunksPerDate: 1,
      sessions: { count: 0, eventsPerSession: 0 },
      seed: 3,
    });
    const fake = await startFakeTeleport({ dataset: ds });
    const dir = mkdtempSync(join(tmpdir(), 'tdf-start-files-'));
    t.after(async () => {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const client = fake.issueClientCert({ user: 'teleport-event-handler', ttlHours: 24 });
    const identity = join(dir, 'identity');
    writeFileSync(identity, formatIdentityFile({ key: client.key, cert: client.cert, cas: [fake.ca] }));
    const apiKeyFile = join(dir, 'dd.key');
    writeFileSync(apiKeyFile, 'abcdef0123456789abcdef0123456789\n');
    const file = writeConfig(
      dir,
      `storage = "storage"
dry-run = true
[ingest]
enabled = false
[datadog]
api-key-file = "dd.key"
[teleport]
addr = "${fake.address}"
identity = "identity"
`,
    );
    const run = async (mode: number) => {
      chmodSync(identity, mode);
      chmodSync(apiKeyFile, mode);
      const fw = await runForwarder(['start', '--config', file], {}, { waitForIngest: false });
      t.after(() => fw.stop('SIGKILL'));
      // the warning is not blocking: the poller starts
      await fw.waitForLog((l) => l.msg === 'teleport poller started');
      assert.equal(await fw.stop(), 0, fw.stderr());
      return fw.logs.filter((l) => (l.level === 40 || l.level === 'warn') && l.check === 'secret-mode');
    };

    const open = await run(0o644);
    assert.deepEqual(
      open.map((l) => l.msg).sort(),
      [
        `${apiKeyFile} (Datadog API key file) is open to other users (mode 0644): chmod 600 ${apiKeyFile}`,
        `${identity} (Teleport private key) is open to other users (mode 0644): chmod 600 ${identity}`,
      ].sort(),
    );

    // how the systemd unit and the helm chart share files with the service: check reports it, start does not
    assert.deepEqual(await run(0o640), []);
  },
);
