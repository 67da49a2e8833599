// from the fluentd chain to the forwarder: the guide's fluent.conf (encrypted server key, passphrase, datadog
// match) migrated with the cli, started, and posted to by a client holding the handler's certificates. also
// `start --config fluent.conf` reading the fluentd file as it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeIntake } from '../../src/fakes/intake.js';
import { encryptKey } from '../../src/tls/certs.js';
import { writeTlsFiles, MtlsClient, type TlsFiles } from '../helpers/mtls.js';
import { runForwarder, waitFor } from '../helpers/forwarder.js';
import { cliCommand, fixture, repoRoot } from '../helpers/paths.js';

const API_KEY = '0123456789abcdef0123456789abcdef';
const PASSPHRASE = 'c2f0b5e1a7d94e3b8a61f0d2c4e9b7a3';

function guideConf(dir: string): { conf: string; tls: TlsFiles } {
  // the fixture, with its /keys paths pointing at freshly generated material (server.key encrypted, like configure)
  const tls = writeTlsFiles(dir);
  writeFileSync(tls.paths.key, encryptKey(tls.server.key, PASSPHRASE), { mode: 0o600 });
  const conf = readFileSync(fixture('fluentd', 'teleport-datadog.conf'), 'utf8').replaceAll('/keys/', dir + '/');
  writeFileSync(join(dir, 'fluent.conf'), conf);
  return { conf: join(dir, 'fluent.conf'), tls };
}

async function postAndSee(t: import('node:test').TestContext, dir: string, tls: TlsFiles, args: string[]) {
  const intake = await startFakeIntake({ apiKeys: [API_KEY] });
  // the guide's datadog host is the real intake: point it at the local one, and let the ingest take a free port
  const fw = await runForwarder(
    [
      ...args,
      '--datadog-url',
      intake.url,
      '--ingest-port',
      '0',
      '--ingest-host',
      '127.0.0.1',
      '--storage',
      join(dir, 'storage'),
    ],
    {},
  );
  const client = new MtlsClient(fw.port!, tls);
  t.after(async () => {
    client.close();
    await fw.stop();
    await intake.close();
  });
  const ev = {
    event: 'user.login',
    code: 'T1000W',
    success: false,
    user: 'alice',
    uid: 'mig-1',
    time: new Date().toISOString(),
  };
  assert.equal((await client.post('/test.log', JSON.stringify(ev))).status, 200);
  // session.*.log went to stdout in fluentd: not carried over, so those records match no rule and are dropped
  assert.equal((await client.post('/session.abc.log', JSON.stringify({ event: 'print', uid: 'mig-2' }))).status, 200);
  await waitFor(() => intake.logs.length >= 1, 'the login at the intake');
  const got = intake.logs[0] as any;
  assert.equal(got.uid, 'mig-1');
  assert.equal(got.ddsource, 'teleport');
  assert.equal(got.status, 'warn');
  return fw;
}

test("migrate turns the guide's fluent.conf into a config that starts and delivers", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-migrate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { conf, tls } = guideConf(dir);
  const out = join(dir, 'forwarder.toml');
  const r = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'migrate', conf, '--out', out], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /stdout/, 'the report names what was not carried over');
  const toml = readFileSync(out, 'utf8');
  assert.ok(!toml.includes(API_KEY) && !toml.includes(PASSPHRASE), 'secrets are not written into the config');
  assert.equal(statSync(join(dir, 'datadog-api-key')).mode & 0o777, 0o600);
  const again = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'migrate', conf, '--out', out], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  assert.notEqual(again.status, 0, 'never overwrites silently');
  const fw = await postAndSee(t, dir, tls, ['start', '--config', out]);
  assert.ok(!JSON.stringify(fw.logs).includes(API_KEY));
});

test('start --config fluent.conf runs the fluentd setup as it is', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-fluentconf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { conf, tls } = guideConf(dir);
  const fw = await postAndSee(t, dir, tls, ['start', '--config', conf]);
  assert.ok(
    fw.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('fluent.conf:')),
    'notes about what was not carried over are logged',
  );
  assert.ok(!JSON.stringify(fw.logs).includes(API_KEY) && !JSON.stringify(fw.logs).includes(PASSPHRASE));
});

const migrateCli = (args: string[]) =>
  spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'migrate', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });

test('migrate reports the handler tags no rule ships, with the rule that would; uncommented, it ships them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-migrate-tags-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { conf, tls } = guideConf(dir);
  const out = join(dir, 'forwarder.toml');
  const r = migrateCli([conf, '--out', out]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // teleport's defaults: test.log is shipped by the guide's <match test.log>; session.<sid>.log by nothing
  assert.match(
    r.stdout,
    /warn +fluent\.conf:1 +teleport-event-handler posts its session recordings under session\.<sid>\.log .*which no rule matches: the ingest answers 200 and drops them.* add \[\[match\]\] pattern = "session\.\*\.log", source = "teleport"/,
  );
  assert.doesNotMatch(r.stdout, /audit events under/);
  // the closing hint and the readme's next step are the same command
  const hint = /^next, check it: (teleport-datadog-forwarder check --config) (\S+)$/m.exec(r.stdout);
  assert.ok(hint, r.stdout);
  assert.equal(hint[2], out);
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf('teleport-datadog-forwarder migrate fluent.conf --out forwarder.toml'));
  assert.match(block.split('\n')[1]!, new RegExp(`^${hint[1]} forwarder\\.toml\\b`));
  assert.match(r.stdout, /^then see what it would ship: teleport-datadog-forwarder start --config \S+ --dry-run$/m);
  assert.match(block.split('\n')[2]!, /^teleport-datadog-forwarder start --config forwarder\.toml --dry-run\b/);

  // the suggested rule is in the file, commented out; uncommented, the handler's session posts reach datadog
  const toml = readFileSync(out, 'utf8');
  const suggested = '# [[match]]\n# pattern = "session.*.log"\n# source = "teleport"\n';
  assert.ok(toml.includes(suggested), toml);
  writeFileSync(out, toml.replace(suggested, suggested.replaceAll('# ', '')));
  const intake = await startFakeIntake({ apiKeys: [API_KEY] });
  const fw = await runForwarder(
    ['start', '--config', out, '--datadog-url', intake.url, '--ingest-port', '0', '--ingest-host', '127.0.0.1'],
    {},
  );
  const client = new MtlsClient(fw.port!, tls);
  t.after(async () => {
    client.close();
    await fw.stop();
    await intake.close();
  });
  const sid = '8d57a9d5-3848-5ce2-a326-85eb4a6d2eed';
  const chunk = { event: 'session.start', sid, uid: 'rec-1', time: new Date().toISOString() };
  assert.equal((await client.post(`/session.${sid}.log`, JSON.stringify(chunk))).status, 200);
  await waitFor(() => intake.logs.length >= 1, 'the session event at the intake');
  assert.equal((intake.logs[0] as any).uid, 'rec-1');
});

test("migrate takes the tags from the handler's url and session-url, and is quiet when a rule covers them", () => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-migrate-urls-'));
  try {
    const { conf } = guideConf(dir);
    const handler = join(dir, 'teleport-event-handler.toml');
    writeFileSync(
      handler,
      '[forward.fluentd]\nurl = "https://fw.example.com:8888/audit/log"\nsession-url = "https://fw.example.com:8888/rec"\n',
    );
    const r = migrateCli([conf, '--handler-config', handler, '--out', join(dir, 'a.toml')]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /teleport-event-handler\.toml:2 +teleport-event-handler posts its audit events under audit\.log .*add \[\[match\]\] pattern = "audit\.log", source = "teleport"/,
    );
    assert.match(
      r.stdout,
      /teleport-event-handler\.toml:3 +teleport-event-handler posts its session recordings under rec\.<sid>\.log .*pattern = "rec\.\*\.log"/,
    );

    // a catch-all datadog rule ships every tag: nothing to say
    writeFileSync(conf, readFileSync(conf, 'utf8').replaceAll('<match test.log>', '<match **>'));
    const quiet = migrateCli([conf, '--handler-config', handler, '--out', join(dir, 'b', 'b.toml')]);
    assert.equal(quiet.status, 0, quiet.stdout + quiet.stderr);
    assert.doesNotMatch(quiet.stdout, /no rule matches/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
