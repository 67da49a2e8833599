// `check` against real files, a local Datadog-compatible intake and the fake Teleport Auth Service: a fresh
// `configure` passes, and each broken part (expired or mismatched certificate, wrong CA, unreadable key, bad
// passphrase, open file modes, refused API key, expired or foreign identity, bad config) fails on its own line.
//
// tests run as root, where chmod 000 does not stop a read: an unreadable key is simulated with a directory in
// its place, and with a missing file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck, type CheckOptions } from '../../src/cli/check.js';
import { runConfigure, FILES } from '../../src/cli/configure.js';
import { createCA, createCert, encryptKey } from '../../src/tls/certs.js';
import { startFakeIntake } from '../../src/fakes/intake.js';
import { startFakeTeleport } from '../../src/fakes/teleport.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';
import { unusedPort } from '../helpers/ports.js';

const API_KEY = 'chk0123456789abcdef0123456789abcd';
const HOUR = 3600_000;

const intake = await startFakeIntake({ apiKeys: [API_KEY] });
const teleport = await startFakeTeleport();
// one `configure` run, copied for each test: rsa key generation is the slow part
const template = mkdtempSync(join(tmpdir(), 'tdf-check-template-'));
await runConfigure({ dir: template, bits: 2048, out: { write: () => true } });
after(async () => {
  await intake.close();
  await teleport.close();
  rmSync(template, { recursive: true, force: true });
});

async function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(template, dir, { recursive: true });
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return {
    dir,
    path: (name: string) => join(dir, name),
    read,
    ca: { cert: read(FILES.ca), key: read(FILES.caKey) },
    passphrase: read(FILES.passphrase).trim(),
  };
}

async function check(dir: string, o: Partial<CheckOptions> & { flags?: Record<string, unknown> } = {}) {
  let text = '';
  const code = await runCheck({
    configFile: join(dir, FILES.config),
    env: { DD_API_KEY: API_KEY },
    ...o,
    flags: { 'datadog-url': intake.url, ...o.flags },
    out: { write: (s: string) => (text += s) },
  });
  const line = (name: string) => text.split('\n').find((l) => l.slice(6).startsWith(name + ' ')) ?? `(no ${name} line)`;
  return { code, text, line };
}

function identityFile(dir: string, opts: { ttlHours?: number; notBefore?: Date } = {}): string {
  const c = teleport.issueClientCert({
    user: 'teleport-datadog-forwarder',
    ttlHours: opts.ttlHours ?? 72,
    notBefore: opts.notBefore,
  });
  const file = join(dir, 'identity');
  writeFileSync(file, formatIdentityFile({ key: c.key, cert: c.cert, cas: [teleport.ca] }), { mode: 0o600 });
  return file;
}

const withTeleport = (file: string) => ({
  'teleport-enabled': true,
  'teleport-addr': teleport.address,
  'teleport-identity': file,
});

test('a fresh configure passes every check: key valid at the intake, identity accepted by the auth service', async (t) => {
  const s = await setup(t);
  const calls = teleport.calls.GetEventExportChunks!.count;
  const r = await check(s.dir, { flags: withTeleport(identityFile(s.dir)) });
  assert.equal(r.code, 0, r.text);
  for (const name of [
    'config',
    'storage',
    'ingest.ca',
    'ingest.cert',
    'ingest.chain',
    'ingest.key',
    'datadog.site',
    'datadog.api-key',
    'datadog.validate',
    'teleport.identity',
    'teleport.connect',
  ]) {
    assert.match(r.line(name), /^PASS  /, name);
  }
  assert.match(r.line('ingest.cert'), /server\.crt valid until 20\d\d-/);
  assert.match(r.line('ingest.key'), /encrypted\) matches/);
  assert.match(r.line('teleport.identity'), /user "teleport-datadog-forwarder" of cluster tele\.example\.com/);
  assert.match(r.line('teleport.connect'), /connected to 127\.0\.0\.1:\d+ as "teleport-datadog-forwarder"/);
  assert.equal(teleport.calls.GetEventExportChunks!.count, calls + 1, 'one real call to the auth service');
  assert.match(r.text, /\ncheck passed: \d+ passed, 0 warnings, 0 failed, 0 skipped\n$/);
  assert.ok(!r.text.includes(API_KEY), 'no api key in the output');
  assert.ok(!r.text.includes(s.passphrase), 'no passphrase in the output');
  assert.ok(!r.text.includes('PRIVATE KEY'), 'no key material in the output');

  // an auth service without the export api still proves the connection and the identity
  teleport.faults.unimplementedExport = true;
  t.after(() => {
    teleport.faults.unimplementedExport = false;
  });
  const old = await check(s.dir, { flags: withTeleport(join(s.dir, 'identity')) });
  assert.equal(old.code, 0, old.text);
  assert.match(old.line('teleport.connect'), /^PASS .*no export API/);
});

test('the API key: refused by the intake (403) fails; an unreachable intake only warns; offline skips', async (t) => {
  const s = await setup(t);
  const bad = await check(s.dir, { env: { DD_API_KEY: 'not-the-key-0000000000000000000000' } });
  assert.equal(bad.code, 1);
  assert.match(bad.line('datadog.validate'), /^FAIL .*refused the API key \(HTTP 403\)/);
  assert.match(bad.text, /^check failed: /m);

  const port = await unusedPort();
  const away = await check(s.dir, { flags: { 'datadog-url': `http://127.0.0.1:${port}` } });
  assert.equal(away.code, 0, away.text);
  assert.match(away.line('datadog.validate'), /^WARN .*could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);

  const offline = await check(s.dir, { offline: true, flags: withTeleport(identityFile(s.dir)) });
  assert.equal(offline.code, 0, offline.text);
  assert.match(offline.line('datadog.validate'), /^SKIP .*offline/);
  assert.match(offline.line('teleport.connect'), /^SKIP .*offline/);

  const none = await check(s.dir, { env: {} });
  assert.equal(none.code, 1);
  assert.match(none.line('config'), /^FAIL .*no Datadog API key/);
  assert.match(none.line('datadog.api-key'), /^FAIL .*not set/);
  assert.match(none.line('ingest.key'), /^PASS /, 'the other checks still run after a config failure');
});

test('an expired ingest certificate fails; one near its end warns', async (t) => {
  const s = await setup(t);
  const expired = createCert(s.ca, {
    usage: 'server',
    commonName: 'Server',
    dnsNames: ['localhost'],
    notBefore: new Date(Date.now() - 48 * HOUR),
    ttlHours: 1,
  });
  writeFileSync(s.path(FILES.cert), expired.cert);
  writeFileSync(s.path(FILES.key), encryptKey(expired.key, s.passphrase), { mode: 0o600 });
  const r = await check(s.dir);
  assert.equal(r.code, 1);
  assert.match(r.line('ingest.cert'), /^FAIL .*server\.crt "Server" expired at 20\d\d-/);
  assert.match(r.line('ingest.key'), /^PASS .*matches/);

  const soon = createCert(s.ca, { usage: 'server', commonName: 'Server', dnsNames: ['localhost'], ttlHours: 240 });
  writeFileSync(s.path(FILES.cert), soon.cert);
  writeFileSync(s.path(FILES.key), encryptKey(soon.key, s.passphrase), { mode: 0o600 });
  const w = await check(s.dir);
  assert.equal(w.code, 0, w.text);
  assert.match(w.line('ingest.cert'), /^WARN .*expires in (9|10) days/);
});

test('a key that does not match the certificate fails, as do a wrong and a missing passphrase', async (t) => {
  const s = await setup(t);
  const other = createCert(s.ca, { usage: 'server', dnsNames: ['localhost'] });
  const good = s.read(FILES.key);
  writeFileSync(s.path(FILES.key), encryptKey(other.key, s.passphrase), { mode: 0o600 });
  const r = await check(s.dir);
  assert.equal(r.code, 1);
  assert.match(r.line('ingest.key'), /^FAIL .*server\.key does not match .*server\.crt/);

  writeFileSync(s.path(FILES.key), good, { mode: 0o600 });
  writeFileSync(s.path(FILES.passphrase), 'wrong-passphrase\n', { mode: 0o600 });
  const wrong = await check(s.dir);
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.line('ingest.key'),
    /^FAIL .*could not be decrypted: the passphrase from .*server\.key\.passphrase is wrong/,
  );
  assert.ok(!wrong.text.includes('wrong-passphrase'));

  writeFileSync(s.path(FILES.config), s.read(FILES.config).replace(/^key-passphrase-file = .*$/m, ''));
  const missing = await check(s.dir);
  assert.equal(missing.code, 1);
  assert.match(missing.line('ingest.key'), /^FAIL .*encrypted and no passphrase is set/);
});

test('a wrong CA: a CA file that is not a CA fails; a CA that did not sign the server certificate warns', async (t) => {
  const s = await setup(t);
  // the client certificate where the CA belongs: no client certificate can verify against a leaf
  const leaf = await check(s.dir, { flags: { 'ingest-ca': s.path(FILES.clientCert) } });
  assert.equal(leaf.code, 1);
  assert.match(leaf.line('ingest.ca'), /^FAIL .*client\.crt: "Client" is not a CA certificate/);
  assert.doesNotMatch(leaf.text, /ingest\.chain/);

  const foreign = createCA({ commonName: 'Another CA' });
  writeFileSync(join(s.dir, 'other-ca.crt'), foreign.cert);
  const other = await check(s.dir, { flags: { 'ingest-ca': join(s.dir, 'other-ca.crt') } });
  assert.equal(other.code, 0, other.text);
  assert.match(other.line('ingest.ca'), /^PASS .*CA "Another CA" valid until/);
  assert.match(
    other.line('ingest.chain'),
    /^WARN .*server\.crt is not signed by the CA in .*other-ca\.crt \(its issuer is CA\)/,
  );

  writeFileSync(join(s.dir, 'garbage.crt'), 'not a certificate\n');
  const garbage = await check(s.dir, { flags: { 'ingest-ca': join(s.dir, 'garbage.crt') } });
  assert.match(garbage.line('ingest.ca'), /^FAIL .*holds no PEM certificate/);
});

test('an unreadable key file fails (a directory in its place, since root reads through chmod 000; a missing file)', async (t) => {
  const s = await setup(t);
  mkdirSync(join(s.dir, 'key-dir'));
  const dirKey = await check(s.dir, { flags: { 'ingest-key': join(s.dir, 'key-dir') } });
  assert.equal(dirKey.code, 1);
  assert.match(dirKey.line('ingest.key'), /^FAIL .*key-dir is a directory, not a file/);

  const gone = await check(s.dir, { flags: { 'ingest-key': join(s.dir, 'nope.key') } });
  assert.equal(gone.code, 1);
  assert.match(gone.line('ingest.key'), /^FAIL .*nope\.key does not exist/);

  writeFileSync(join(s.dir, 'cert-as-key'), s.read(FILES.cert));
  const notKey = await check(s.dir, { flags: { 'ingest-key': join(s.dir, 'cert-as-key') } });
  assert.match(notKey.line('ingest.key'), /^FAIL .*holds no PEM private key/);
});

test('secret files open to other users fail, open to the group warn', async (t) => {
  const s = await setup(t);
  chmodSync(s.path(FILES.key), 0o644);
  chmodSync(s.path(FILES.passphrase), 0o640);
  const r = await check(s.dir);
  assert.equal(r.code, 1);
  const modes = r.text.split('\n').filter((l) => l.includes('secret-mode'));
  assert.ok(
    modes.some((l) =>
      /^FAIL .*server\.key \(ingest private key\) is open to other users \(mode 0644\): chmod 600/.test(l),
    ),
    modes.join('\n'),
  );
  assert.ok(
    modes.some((l) => /^WARN .*server\.key\.passphrase .*open to its group \(mode 0640\)/.test(l)),
    modes.join('\n'),
  );
});

test('teleport: an expired identity fails and skips the connection; an identity of another cluster cannot connect', async (t) => {
  const s = await setup(t);
  const expired = identityFile(s.dir, { notBefore: new Date(Date.now() - 48 * HOUR), ttlHours: 1 });
  const r = await check(s.dir, { flags: withTeleport(expired) });
  assert.equal(r.code, 1);
  assert.match(r.line('teleport.identity'), /^FAIL .*expired at 20\d\d-/);
  assert.match(r.line('teleport.connect'), /^SKIP /);

  // a well-formed identity whose CAs are not this cluster's: the TLS handshake fails both ways
  const ca = createCA({ commonName: 'other.example.com' });
  const c = createCert(ca, { usage: 'client', commonName: 'teleport-datadog-forwarder' });
  const foreign = join(s.dir, 'foreign-identity');
  writeFileSync(foreign, formatIdentityFile({ key: c.key, cert: c.cert, cas: [ca.cert] }), { mode: 0o600 });
  const f = await check(s.dir, { flags: withTeleport(foreign) });
  assert.equal(f.code, 1);
  assert.match(f.line('teleport.identity'), /^PASS /);
  assert.match(
    f.line('teleport.connect'),
    /^FAIL .*this host does not trust the certificate of 127\.0\.0\.1:\d+ \(.*self-signed certificate.*\): the identity's CA must be this cluster's/,
  );

  // this cluster's CA, but a client certificate from another: the auth service ends the handshake
  writeFileSync(foreign, formatIdentityFile({ key: c.key, cert: c.cert, cas: [teleport.ca] }), { mode: 0o600 });
  const refused = await check(s.dir, { flags: withTeleport(foreign) });
  assert.equal(refused.code, 1);
  assert.match(
    refused.line('teleport.connect'),
    /^FAIL .*ended the connection at the TLS handshake \(.*\): an auth service restarting does this, and so does one that does not accept the client certificate in .*foreign-identity/,
  );

  // the auth service takes the identity but the role lacks the audit log rules
  teleport.faults.failNextCalls.push({
    rpc: 'GetEventExportChunks',
    code: grpc.status.PERMISSION_DENIED,
    times: 1,
    details: 'access denied to perform action "list" on "event"',
  });
  const denied = await check(s.dir, { flags: withTeleport(identityFile(s.dir)) });
  assert.equal(denied.code, 1);
  assert.match(
    denied.line('teleport.connect'),
    /^FAIL .*teleport denied "teleport-datadog-forwarder" access to the audit log \(PERMISSION_DENIED: access denied .*\): its role needs `event` list, read \(the role in teleport-datadog-forwarder-role\.yaml/,
  );

  const short = identityFile(s.dir, { ttlHours: 6 });
  const w = await check(s.dir, { flags: withTeleport(short), offline: true });
  assert.equal(w.code, 0, w.text);
  assert.match(w.line('teleport.identity'), /^WARN .*expires in \d h .*refresh\.enabled is off/);
});

test('a config error is a failed check with its message; a storage path that is a file fails', async (t) => {
  const s = await setup(t);
  writeFileSync(s.path(FILES.config), s.read(FILES.config) + '\nbogus-key = 1\n');
  const r = await check(s.dir);
  assert.equal(r.code, 1);
  assert.match(r.line('config'), /^FAIL .*unknown key "bogus-key"/);
  assert.equal(r.text.trim().split('\n').length, 2, 'the config line and the summary: nothing else can be checked');

  const s2 = await setup(t);
  writeFileSync(join(s2.dir, 'storage'), 'a file, not a directory');
  const st = await check(s2.dir);
  assert.equal(st.code, 1);
  assert.match(st.line('storage'), /^FAIL .*storage exists but is not a directory/);
});

test('the secret files checked are the ones the loader read: a dotted key at the top of the file', async (t) => {
  // `"ingest.key-passphrase-file" = ...` before any table is the same setting to the loader; check used to look
  // for it only under [ingest], so it named no file for the passphrase and checked the mode of neither
  const s = await setup(t);
  const toml = s.read(FILES.config).replace(/^key-passphrase-file = .*$/m, '');
  writeFileSync(
    s.path(FILES.config),
    `"ingest.key-passphrase-file" = "${FILES.passphrase}"\n"datadog.api-key-file" = "dd.key"\n${toml}`,
  );
  writeFileSync(s.path(FILES.passphrase), 'wrong-passphrase\n', { mode: 0o644 });
  chmodSync(s.path(FILES.passphrase), 0o644);
  writeFileSync(s.path('dd.key'), API_KEY + '\n', { mode: 0o644 });
  chmodSync(s.path('dd.key'), 0o644);
  const r = await check(s.dir, { env: {}, offline: true });
  assert.equal(r.code, 1);
  assert.match(
    r.line('ingest.key'),
    new RegExp(`^FAIL .*could not be decrypted: the passphrase from ${s.path(FILES.passphrase)} is wrong`),
  );
  assert.match(r.line('datadog.api-key'), new RegExp(`^PASS .*from ${s.path('dd.key')}$`));
  const modes = r.text.split('\n').filter((l) => l.includes('secret-mode'));
  assert.ok(
    modes.some((l) =>
      /^FAIL .*server\.key\.passphrase \(passphrase of the ingest key\) is open to other users/.test(l),
    ),
    modes.join('\n'),
  );
  assert.ok(
    modes.some((l) => /^FAIL .*dd\.key \(Datadog API key file\) is open to other users/.test(l)),
    modes.join('\n'),
  );
});

test('a fluent.conf passphrase is the one used, not a passphrase file from the environment', async (t) => {
  // check used to read the fluent.conf as TOML, find no inline passphrase, and blame the file the loader ignored
  const s = await setup(t);
  const conf = fluentConf(s, 'wrong-passphrase');
  const r = await check(s.dir, {
    configFile: conf,
    env: { DD_API_KEY: API_KEY, TDF_INGEST_KEY_PASSPHRASE_FILE: s.path(FILES.passphrase) },
    offline: true,
  });
  assert.equal(r.code, 1);
  assert.match(
    r.line('ingest.key'),
    /^FAIL .*could not be decrypted: the passphrase from ingest\.key-passphrase is wrong/,
  );
  assert.ok(!r.text.includes('wrong-passphrase'));
});

test('a secret file that an inline value overrides is not read, so its mode is not checked', async (t) => {
  const s = await setup(t);
  chmodSync(s.path(FILES.passphrase), 0o644);
  writeFileSync(s.path('dd.key'), 'not-the-key-0000000000000000000000\n', { mode: 0o644 });
  chmodSync(s.path('dd.key'), 0o644);
  const r = await check(s.dir, {
    env: { DD_API_KEY: API_KEY, TDF_INGEST_KEY_PASSPHRASE: s.passphrase },
    flags: { 'datadog-api-key-file': s.path('dd.key') },
    offline: true,
  });
  assert.equal(r.code, 0, r.text);
  assert.match(r.line('ingest.key'), /^PASS .*encrypted\) matches/);
  assert.match(r.line('datadog.api-key'), /^PASS .*from environment variable DD_API_KEY$/);
  assert.doesNotMatch(r.text, /secret-mode .*(server\.key\.passphrase|dd\.key)/);
});

test("secrets written in the config itself (a fluent.conf api_key, a passphrase): the file's mode is checked", async (t) => {
  const s = await setup(t);
  const conf = fluentConf(
    s,
    s.passphrase,
    `<match **>
  @type datadog
  api_key ${API_KEY}
</match>
`,
  );
  chmodSync(conf, 0o644);
  const r = await check(s.dir, { configFile: conf, env: {}, offline: true });
  assert.equal(r.code, 1);
  assert.match(r.line('datadog.api-key'), new RegExp(`^WARN .*written in ${conf.replace(/[.]/g, '\\.')}`));
  const modes = r.text.split('\n').filter((l) => l.includes('secret-mode'));
  assert.ok(
    modes.some((l) => /^FAIL .*fluent\.conf \(config file holding the API key\) is open to other users/.test(l)),
    modes.join('\n'),
  );
  assert.ok(
    modes.some((l) => /^FAIL .*fluent\.conf \(config file holding the key passphrase\) is open to other users/.test(l)),
    modes.join('\n'),
  );
  assert.ok(!r.text.includes(API_KEY) && !r.text.includes(s.passphrase), 'no secret in the output');
});

/** a fluent.conf with in_http over mTLS on the setup's files, the key's passphrase inline */
function fluentConf(s: { path(f: string): string }, passphrase: string, more = ''): string {
  const conf = s.path('fluent.conf');
  writeFileSync(
    conf,
    `<source>
  @type http
  port 8888
  <transport tls>
    client_cert_auth true
    ca_path ${s.path(FILES.ca)}
    cert_path ${s.path(FILES.cert)}
    private_key_path ${s.path(FILES.key)}
    private_key_passphrase "${passphrase}"
  </transport>
</source>
${more}`,
  );
  return conf;
}
