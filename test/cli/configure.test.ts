// `configure`: the files it writes (modes, certificates, role, configs), that it never overwrites silently, and
// end to end: the forwarder started from its forwarder.toml takes an event over mTLS with its client certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConfigure, FILES, type ConfigureOptions } from '../../src/cli/configure.js';
import { loadConfig } from '../../src/config/load.js';
import { SETTINGS, MATCH_SETTINGS } from '../../src/config/schema.js';
import { SetupError } from '../../src/errors.js';
import { parseTtlHours } from '../../src/setup/material.js';
import { startFakeIntake } from '../../src/fakes/intake.js';
import { runForwarder, waitFor } from '../helpers/forwarder.js';
import { MtlsClient, type TlsFiles } from '../helpers/mtls.js';
import { cliCommand } from '../helpers/paths.js';
import { parseYamlDocuments } from '../helpers/yaml.js';

const API_KEY = 'cfg0123456789abcdef0123456789abcd';

function sink() {
  let text = '';
  return { out: { write: (s: string) => (text += s) }, text: () => text };
}

async function configured(t: { after(fn: () => void): void }, o: Partial<ConfigureOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-configure-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = sink();
  const code = await runConfigure({ dir, bits: 2048, out: s.out, ...o });
  return { dir, code, output: s.text() };
}

const read = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8');
const mode = (dir: string, name: string) => statSync(join(dir, name)).mode & 0o777;

test('writes the mTLS material like teleport-event-handler: CNs, SANs, PKCS#1, keys 0600, an encrypted server key', async (t) => {
  const { dir, code, output } = await configured(t, {
    dnsNames: ['forwarder.example.com,localhost'],
    ips: ['127.0.0.1'],
    ttlHours: 48,
    teleportAddr: 'tele.example.com:443',
  });
  assert.equal(code, 0);
  // keys and the passphrase are secret; certificates are public (a handler or a container user reads them)
  for (const name of [FILES.caKey, FILES.key, FILES.passphrase, FILES.clientKey]) {
    assert.equal(mode(dir, name), 0o600, `${name} mode`);
    assert.ok(output.includes(name), `output names ${name}`);
  }
  for (const name of [FILES.ca, FILES.cert, FILES.clientCert]) {
    assert.equal(mode(dir, name), 0o644, `${name} mode`);
    assert.ok(output.includes(name), `output names ${name}`);
  }
  for (const name of [FILES.role, FILES.config, FILES.handler]) assert.ok(statSync(join(dir, name)).isFile(), name);
  assert.match(output, /Next steps:/);
  assert.match(output, /tctl create -f .*teleport-datadog-forwarder-role\.yaml/);
  assert.match(output, /tctl auth sign --user=teleport-datadog-forwarder/);

  const ca = new X509Certificate(read(dir, FILES.ca));
  const server = new X509Certificate(read(dir, FILES.cert));
  const client = new X509Certificate(read(dir, FILES.clientCert));
  assert.ok(ca.ca);
  assert.match(ca.subject, /CN=CA/);
  assert.match(server.subject, /CN=Server/);
  assert.match(client.subject, /CN=Client/);
  assert.ok(server.verify(ca.publicKey) && client.verify(ca.publicKey));
  assert.equal(server.subjectAltName, 'DNS:forwarder.example.com, DNS:localhost, IP Address:127.0.0.1');
  const hours = (Date.parse(server.validTo) - Date.parse(server.validFrom)) / 3600_000;
  assert.ok(hours >= 48 && hours < 49, `ttl ${hours} h`);
  assert.equal(server.publicKey.asymmetricKeyDetails?.modulusLength, 2048);

  for (const name of [FILES.caKey, FILES.clientKey])
    assert.match(read(dir, name), /^-----BEGIN RSA PRIVATE KEY-----\n(?!Proc-Type)/);
  const key = read(dir, FILES.key);
  assert.match(key, /^-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,/);
  assert.throws(() => createPrivateKey({ key, passphrase: 'not-it' }));
  const opened = createPrivateKey({ key, passphrase: read(dir, FILES.passphrase).trim() });
  assert.ok(server.checkPrivateKey(opened));
  assert.ok(!output.includes(read(dir, FILES.passphrase).trim()), 'the passphrase is not printed');
});

test('an unencrypted server key when asked, and no passphrase file', async (t) => {
  const { dir } = await configured(t, { encryptServerKey: false });
  assert.match(read(dir, FILES.key), /^-----BEGIN RSA PRIVATE KEY-----\n(?!Proc-Type)/);
  assert.throws(() => statSync(join(dir, FILES.passphrase)), /ENOENT/);
  assert.ok(!read(dir, FILES.config).includes('key-passphrase-file'));
  const config = loadConfig({ file: join(dir, FILES.config), env: { DD_API_KEY: API_KEY } });
  assert.equal(config.ingest.keyPassphrase, undefined);
});

test('refuses to overwrite: lists the files and writes nothing; --force overwrites and resets modes', async (t) => {
  const { dir } = await configured(t);
  const before = read(dir, FILES.ca);
  writeFileSync(join(dir, FILES.clientKey), 'tampered', { mode: 0o644 });
  await assert.rejects(runConfigure({ dir, bits: 2048, out: sink().out }), (err: Error) => {
    assert.ok(err instanceof SetupError);
    assert.equal((err as SetupError).code, 'TDF_SETUP');
    for (const name of [FILES.ca, FILES.key, FILES.clientKey, FILES.config, FILES.handler])
      assert.ok(err.message.includes(name), name);
    assert.match(err.message, /--force/);
    return true;
  });
  assert.equal(read(dir, FILES.ca), before, 'nothing rewritten');
  assert.equal(read(dir, FILES.clientKey), 'tampered');

  // one existing file is enough to refuse, in a directory that has only that one
  const other = mkdtempSync(join(tmpdir(), 'tdf-configure-'));
  t.after(() => rmSync(other, { recursive: true, force: true }));
  writeFileSync(join(other, FILES.config), '# mine\n');
  await assert.rejects(runConfigure({ dir: other, bits: 2048, out: sink().out }), /forwarder\.toml/);
  assert.equal(read(other, FILES.config), '# mine\n');
  assert.throws(() => statSync(join(other, FILES.ca)), /ENOENT/);

  const s = sink();
  assert.equal(await runConfigure({ dir, bits: 2048, force: true, out: s.out }), 0);
  assert.notEqual(read(dir, FILES.ca), before);
  assert.match(read(dir, FILES.clientKey), /BEGIN RSA PRIVATE KEY/);
  assert.equal(mode(dir, FILES.clientKey), 0o600);
  assert.match(s.text(), /overwrote .*client\.key/);
});

test('invalid options are refused before anything is written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-configure-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: Array<[Partial<ConfigureOptions>, RegExp]> = [
    [{ bits: 3000 }, /key length 3000/],
    [{ ips: ['300.1.1.1'] }, /not an IP address/],
    [{ dnsNames: ['bad name'] }, /not a DNS name/],
    [{ dnsNames: [], ips: [] }, /needs a name/],
    [{ ttlHours: 0 }, /lifetime/],
    [{ teleportAddr: 'no-port' }, /host:port/],
    [{ lock: true }, /locking is done by the built-in poller, which needs the Teleport address/],
  ];
  for (const [o, re] of cases) await assert.rejects(runConfigure({ dir, bits: 2048, out: sink().out, ...o }), re);
  assert.throws(() => statSync(join(dir, FILES.ca)), /ENOENT/);
  assert.equal(parseTtlHours('87600h'), 87600);
  assert.equal(parseTtlHours('90m'), 1.5);
  assert.equal(parseTtlHours('24'), 24);
  assert.throws(() => parseTtlHours('ten years'), SetupError);
});

test('the role file: a role with event/session list+read, lock create+update only with --lock, and its user', async (t) => {
  for (const lock of [false, true]) {
    const { dir } = await configured(t, { lock, teleportAddr: 'tele.example.com:443' });
    const text = read(dir, FILES.role);
    const docs = parseYamlDocuments(text) as any[];
    assert.equal(docs.length, 2);
    const role = docs.find((d) => d.kind === 'role');
    const user = docs.find((d) => d.kind === 'user');
    assert.equal(role.metadata.name, 'teleport-datadog-forwarder');
    assert.match(role.version, /^v\d+$/);
    const expected = [{ resources: ['event', 'session'], verbs: ['list', 'read'] }];
    if (lock) expected.push({ resources: ['lock'], verbs: ['create', 'update'] });
    assert.deepEqual(role.spec.allow.rules, expected);
    assert.deepEqual(Object.keys(role.spec), ['allow'], 'no deny, no logins, nothing else');
    assert.equal(user.metadata.name, 'teleport-datadog-forwarder');
    assert.deepEqual(user.spec.roles, ['teleport-datadog-forwarder']);
    assert.equal(/\block\b/.test(text.replace(/^#.*$/gm, '')), lock, 'lock appears outside comments only with --lock');
    assert.match(text, /^# .*tctl auth sign --user=teleport-datadog-forwarder --format=file/m);
    assert.match(text, /^# .*tbot start/m);
    assert.ok(text.includes(join(dir, 'identity')), 'the commands write the identity where forwarder.toml reads it');
  }
});

test('forwarder.toml loads, has a schema comment above every key, and points at the files just written', async (t) => {
  const { dir } = await configured(t, { teleportAddr: 'tele.example.com:3025', lock: true });
  const file = join(dir, FILES.config);
  const text = read(dir, FILES.config);
  const config = loadConfig({ file, env: { DD_API_KEY: API_KEY } });
  // all in one: the poller on, the ingest written (ready) but off, so no event is shipped twice
  assert.equal(config.ingest.enabled, false);
  assert.equal(config.ingest.ca, join(dir, FILES.ca));
  assert.equal(config.ingest.cert, join(dir, FILES.cert));
  assert.equal(config.ingest.key, join(dir, FILES.key));
  assert.equal(config.ingest.keyPassphrase, read(dir, FILES.passphrase).trim());
  assert.equal(config.storage, join(dir, 'storage'));
  assert.equal(config.teleport.enabled, true);
  assert.equal(config.teleport.addr, 'tele.example.com:3025');
  assert.equal(config.teleport.identity, join(dir, 'identity'));
  assert.equal(config.teleport.lockEnabled, true);
  assert.equal(config.datadog.site, 'datadoghq.com');
  assert.equal(config.datadog.apiKeyOrigin, 'environment variable DD_API_KEY');
  assert.ok(!/api-key\s*=/.test(text), 'no api key in the file');
  assert.deepEqual(
    config.routing.rules.map((r) => r.pattern),
    ['events.log test.log', 'session.*.log'],
  );

  // every key line has a comment right above it (its doc, or the doc block ending with the hint line)
  const lines = text.split('\n');
  let table = '';
  let keys = 0;
  for (const [i, line] of lines.entries()) {
    const header = /^\[\[?([\w.-]+)\]\]?$/.exec(line);
    if (header) table = header[1]!;
    const m = /^([\w.-]+)\s*=/.exec(line);
    if (!m) continue;
    keys += 1;
    assert.match(lines[i - 1] ?? '', /^#/, `key on line ${i + 1} (${line}) has a comment above it`);
    // the comment block holds the schema's doc for that key, so the file cannot drift from the schema
    let j = i - 1;
    const block: string[] = [];
    while (j >= 0 && lines[j]!.startsWith('#')) block.unshift(lines[j--]!.slice(2));
    const comment = block.join(' ');
    const doc =
      table === 'match'
        ? MATCH_SETTINGS.find((s) => s.key === m[1])!.doc
        : SETTINGS.find((s) => s.key === (table ? `${table}.${m[1]}` : m[1]))!.doc;
    assert.ok(
      comment.replace(/\s+/g, ' ').includes(doc.replace(/\s+/g, ' ')),
      `comment of ${table}.${m[1]} is its schema doc`,
    );
  }
  assert.ok(keys >= 20, `${keys} keys`);

  // without a teleport address: the ingest only, and no [teleport] table (its keys would be "not used")
  const { dir: dir2 } = await configured(t);
  const c2 = loadConfig({ file: join(dir2, FILES.config), env: { DD_API_KEY: API_KEY } });
  assert.equal(c2.ingest.enabled, true);
  assert.equal(c2.teleport.enabled, false);
  assert.equal(c2.teleport.lockEnabled, false);
  assert.deepEqual(c2.notes, []);
  assert.doesNotMatch(read(dir2, FILES.config), /^\[teleport\]|^\[lock\]|start-time/m);
});

test('the sample teleport-event-handler.toml posts to our ingest with the client certificate, and loads here too', async (t) => {
  const { dir } = await configured(t, { dnsNames: ['forwarder.internal'], teleportAddr: 'tele.example.com:443' });
  const text = read(dir, FILES.handler);
  assert.ok(text.includes('url = "https://forwarder.internal:8888/events.log"'));
  assert.ok(text.includes('session-url = "https://forwarder.internal:8888/session"'));
  assert.ok(text.includes(`ca = "${join(dir, FILES.ca)}"`));
  assert.ok(text.includes(`cert = "${join(dir, FILES.clientCert)}"`));
  assert.ok(text.includes(`key = "${join(dir, FILES.clientKey)}"`));
  assert.ok(text.includes('addr = "tele.example.com:443"'));
  // our loader reads teleport-event-handler's keys: the tags come from its urls
  const config = loadConfig({ file: join(dir, FILES.handler), env: { DD_API_KEY: API_KEY } });
  assert.equal(config.teleport.eventsTag, 'events.log');
  assert.equal(config.teleport.sessionTagPrefix, 'session');
  assert.notEqual(config.storage, join(dir, 'storage'), "the handler gets its own storage, not the forwarder's");
});

test('end to end: start from the generated forwarder.toml, post with the generated client certificate', async (t) => {
  // beside teleport-event-handler: the shape that runs the ingest
  const { dir } = await configured(t);
  const intake = await startFakeIntake({ apiKeys: [API_KEY] });
  t.after(() => intake.close());
  const fw = await runForwarder(
    [
      'start',
      '--config',
      join(dir, FILES.config),
      '--ingest-port',
      '0',
      '--ingest-host',
      '127.0.0.1',
      '--admin-enabled',
      'false',
      '--datadog-url',
      intake.url,
    ],
    { DD_API_KEY: API_KEY },
  );
  const files: TlsFiles = {
    dir,
    ca: { cert: read(dir, FILES.ca), key: read(dir, FILES.caKey) },
    server: { cert: read(dir, FILES.cert), key: read(dir, FILES.key) },
    client: { cert: read(dir, FILES.clientCert), key: read(dir, FILES.clientKey) },
    paths: {
      ca: join(dir, FILES.ca),
      cert: join(dir, FILES.cert),
      key: join(dir, FILES.key),
      clientCert: join(dir, FILES.clientCert),
      clientKey: join(dir, FILES.clientKey),
    },
  };
  const client = new MtlsClient(fw.port!, files);
  t.after(async () => {
    client.close();
    await fw.stop();
  });
  const uid = 'configure-e2e-' + process.pid;
  const event = {
    event: 'user.login',
    code: 'T1000I',
    uid,
    user: 'alice',
    success: true,
    time: new Date().toISOString(),
  };
  const res = await client.post('/events.log', JSON.stringify(event));
  assert.equal(res.status, 200, res.body);
  await waitFor(() => intake.logs.some((l) => l.uid === uid), 'the event at the intake');
  const log = intake.logs.find((l) => l.uid === uid)!;
  assert.equal(log.service, 'teleport-audit');
  assert.equal(log.ddsource, 'teleport');
  assert.ok(!fw.logs.some((l) => JSON.stringify(l).includes(API_KEY)), 'the key is not logged');
  assert.ok(!fw.logs.some((l) => /not used/.test(String(l.msg))), 'its own config draws no "not used" note');
});

test('forwarder.toml offers start-time as a commented line that loads once uncommented', async (t) => {
  const { dir } = await configured(t, { teleportAddr: 'tele.example.com:3025' });
  const file = join(dir, FILES.config);
  const text = read(dir, FILES.config);
  const line = /^# start-time = "([^"]+)"$/m.exec(text);
  assert.ok(line, 'a commented start-time line');
  const block = text.slice(0, line.index).split('\n\n').pop()!;
  assert.match(
    block.replace(/\n# /g, ' '),
    /starts at the time of its first run; `backfill --from --to` ships older ranges later/,
  );
  // commented out, the poller has no start time; top level (before any table), so uncommenting it just works
  assert.equal(loadConfig({ file, env: { DD_API_KEY: API_KEY } }).teleport.startTime, undefined);
  assert.ok(line.index < text.indexOf('\n['), 'start-time is written before the first table');
  writeFileSync(file, text.replace(line[0], line[0].slice(2)));
  assert.equal(
    loadConfig({ file, env: { DD_API_KEY: API_KEY } }).teleport.startTime?.toISOString(),
    new Date(line[1]!).toISOString(),
  );
});

// through the real cli, as a user runs it: configure, then check --offline on what it wrote
function cli(args: string[]) {
  return spawnSync(cliCommand[0]!, [...cliCommand.slice(1), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, DD_API_KEY: API_KEY },
  });
}

test('cli: beside teleport-event-handler, configure writes only what the ingest uses, and check has nothing to add', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-configure-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = cli(['configure', dir, '--length', '1024']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.throws(() => statSync(join(dir, FILES.role)), /ENOENT/, 'no Teleport role: the handler has its own');
  assert.doesNotMatch(r.stdout, /tctl|identity|role/, 'next steps without a role or an identity');
  assert.match(r.stdout, /replace the lines of\s+teleport-event-handler\.toml marked "replace"/);
  assert.match(r.stdout, /teleport-event-handler start --config teleport-event-handler\.toml/);
  const toml = read(dir, FILES.config);
  assert.doesNotMatch(toml, /^\[teleport\]|^\[lock\]|^# start-time/m);
  assert.match(toml, /^# Beside teleport-event-handler/m);

  const check = cli(['check', '--offline', '--config', join(dir, FILES.config)]);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.doesNotMatch(check.stdout + check.stderr, /not used|WARN/);
  assert.match(check.stdout, /^PASS +ingest\.chain/m);

  // the handler's sample: each placeholder says what to put there
  const handler = read(dir, FILES.handler);
  assert.match(handler, /# replace: your Teleport Proxy \(host:443\) or Auth Service \(host:3025\)\naddr = /);
  assert.match(handler, /# replace: the path of the handler's own identity file[^\n]*\n#[^\n]*\nidentity = /);
  assert.match(handler, /# replace: localhost with how the handler reaches the forwarder, a name on server\.crt/);
});

test('cli: all in one, the poller is on and the ingest is off, with the way to turn it on in the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-configure-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = cli(['configure', dir, 'tele.example.com:443', '--length', '1024']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /tctl create -f .*teleport-datadog-forwarder-role\.yaml/);
  assert.match(r.stdout, /set \[ingest\] enabled = true in forwarder\.toml/);
  const text = read(dir, FILES.config);
  const config = loadConfig({ file: join(dir, FILES.config), env: { DD_API_KEY: API_KEY } });
  assert.equal(config.teleport.enabled, true);
  assert.equal(config.ingest.enabled, false);
  assert.deepEqual(config.notes, []);
  // the header no longer warns about a duplicate it has set up; the ingest's own comment says how to turn it on
  assert.doesNotMatch(text.slice(0, text.indexOf('\n[')), /Two sources are set up/);
  const ingest = text.slice(text.indexOf('\n[ingest]\n'), text.indexOf('\n[teleport]\n'));
  assert.match(
    ingest.replace(/\n# /g, ' '),
    /Set it to true to take posts from a teleport-event-handler of another cluster/,
  );
  assert.match(ingest, /^enabled = false$/m);
  // turned on, it loads with the files configure wrote
  writeFileSync(join(dir, FILES.config), text.replace(/^(\[ingest\][\s\S]*?)^enabled = false$/m, '$1enabled = true'));
  const on = loadConfig({ file: join(dir, FILES.config), env: { DD_API_KEY: API_KEY } });
  assert.equal(on.ingest.enabled, true);
  assert.equal(on.ingest.cert, join(dir, FILES.cert));

  const check = cli(['check', '--offline', '--config', join(dir, FILES.config)]);
  assert.doesNotMatch(check.stdout + check.stderr, /not used/);
  for (const name of [FILES.ca, FILES.cert, FILES.clientCert]) assert.equal(mode(dir, name), 0o644, name);
  for (const name of [FILES.caKey, FILES.key, FILES.passphrase, FILES.clientKey]) assert.equal(mode(dir, name), 0o600);
});
