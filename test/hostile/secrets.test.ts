// secrets never leave the process: a full forwarder through the cli (ingest with an encrypted server key and its
// passphrase, the teleport poller with an identity file, a datadog api key) on its good path and its error paths
// (a refused key, an intake that echoes the key back, a wrong passphrase, config errors, `check`, `status`,
// `spool`), then every byte it produced is searched for the api key, the passphrase and the base64 body of every
// private key: stdout (json logs), stderr, /status, /metrics, and the files under storage except the spool data.
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, createCert, encryptKey, randomPassphrase } from '../../src/tls/certs.js';
import { generatedDataset, startFakeTeleport } from '../../src/fakes/teleport.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';
import { waitFor } from '../helpers/forwarder.js';
import { startCountingIntake, startForwarder, startLoad, type Forwarder } from '../helpers/load.js';
import type { TlsFiles } from '../helpers/mtls.js';
import { awayFromUtcMidnight } from '../helpers/clock.js';

await awayFromUtcMidnight();

/** distinctive pieces of each secret: the whole value, and every 32-char run of a pem body */
function needles(secrets: Record<string, string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(secrets)) {
    if (!value.includes('-----BEGIN')) {
      out.push([name, value]);
      continue;
    }
    const body = value
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('-----') && !l.includes(':'))
      .join('');
    for (let i = 0; i + 32 <= body.length; i += 32) out.push([`${name} (pem body at ${i})`, body.slice(i, i + 32)]);
  }
  return out;
}

function leaks(where: string, text: string, found: Array<[string, string]>): string[] {
  return found.filter(([, needle]) => text.includes(needle)).map(([name]) => `${name} in ${where}`);
}

/** every file under storage but leveldb's table and log files (the spool data) */
function storageTexts(storage: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      out.push([`file name ${path}`, path]);
      if (statSync(path).isDirectory()) walk(path);
      else if (!/\.(ldb|log|sst)$/.test(name)) out.push([path, readFileSync(path, 'latin1')]);
    }
  };
  walk(storage);
  return out;
}

test(
  'no api key, passphrase or private key in any output, on the good path and the error paths',
  { timeout: 180_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tdf-secrets-'));
    const apiKey = randomBytes(16).toString('hex');
    const passphrase = randomPassphrase();
    const ca = createCA({ commonName: 'CA' });
    const server = createCert(ca, {
      usage: 'server',
      commonName: 'Server',
      dnsNames: ['localhost'],
      ips: ['127.0.0.1'],
    });
    const client = createCert(ca, { usage: 'client', commonName: 'Client' });
    const encrypted = encryptKey(server.key, passphrase);
    const paths = {
      ca: join(dir, 'ca.crt'),
      cert: join(dir, 'server.crt'),
      key: join(dir, 'server.key'),
      pass: join(dir, 'server.key.passphrase'),
      apiKeyFile: join(dir, 'dd.key'),
      identity: join(dir, 'identity'),
    };
    writeFileSync(paths.ca, ca.cert);
    writeFileSync(paths.cert, server.cert);
    writeFileSync(paths.key, encrypted, { mode: 0o600 });
    writeFileSync(paths.pass, passphrase + '\n', { mode: 0o600 });
    writeFileSync(paths.apiKeyFile, apiKey + '\n', { mode: 0o600 });
    const tls: TlsFiles = {
      dir,
      ca,
      server: { cert: server.cert, key: encrypted },
      client,
      paths: { ca: paths.ca, cert: paths.cert, key: paths.key, clientCert: '', clientKey: '' },
    };

    const firstDay = new Date(Date.parse(new Date().toISOString().slice(0, 10)) - 86_400_000);
    const teleport = await startFakeTeleport({
      dataset: generatedDataset({ dates: { start: firstDay, days: 2 }, eventsPerDate: 40, chunksPerDate: 2, seed: 3 }),
    });
    const identity = teleport.issueClientCert({ user: 'teleport-event-handler', ttlHours: 24 });
    writeFileSync(paths.identity, formatIdentityFile({ key: identity.key, cert: identity.cert, cas: [teleport.ca] }), {
      mode: 0o600,
    });
    const { intake, counts } = await startCountingIntake({ apiKeys: [apiKey] });
    const storage = join(dir, 'storage');
    const config = join(dir, 'forwarder.toml');
    // trace: every line the forwarder can write is written, and searched
    writeFileSync(
      config,
      `
storage = "${storage}"
log-level = "trace"
start-time = "${firstDay.toISOString()}"
poll-interval = "1s"
[teleport]
addr = "${teleport.address}"
identity = "${paths.identity}"
[ingest]
host = "127.0.0.1"
port = 0
ca = "${paths.ca}"
cert = "${paths.cert}"
key = "${paths.key}"
key-passphrase-file = "${paths.pass}"
[datadog]
url = "${intake.url}"
`,
    );
    const running: Forwarder[] = [];
    t.after(async () => {
      for (const fw of running) if (fw.proc.exitCode === null && fw.proc.signalCode === null) fw.proc.kill('SIGKILL');
      await intake.close();
      await teleport.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const secrets = needles({
      'api key': apiKey,
      passphrase,
      'server key': server.key,
      'encrypted server key': encrypted,
      'client key': client.key,
      'CA key': ca.key,
      'identity key': identity.key,
    });
    const outputs: Array<[string, string]> = [];

    // the good path, then datadog refusing the key, then an intake that echoes the key in its refusal
    const env = { DD_API_KEY: apiKey };
    const fw = await startForwarder(config, env);
    running.push(fw);
    const load = startLoad({ port: fw.port!, tls, prefix: 'secret', connections: 2, limit: 100 });
    await load.done;
    assert.equal(load.acked.size, 100);
    await waitFor(
      () => [...counts.keys()].filter((id) => !id.startsWith('secret-')).length >= 40 && counts.has('secret-99'),
      'records from both sources delivered',
      60_000,
    );
    intake.setApiKeys(['some-other-key-0123456789abcdef']);
    intake.inject({
      status: 403,
      times: 1,
      body: JSON.stringify({ errors: [`Forbidden: API key ${apiKey} is not valid`] }),
    });
    const more = startLoad({ port: fw.port!, tls, prefix: 'refused', connections: 2, limit: 50 });
    await more.done;
    await waitFor(async () => (await fw.getJson('/status')).datadog.authFailing === true, 'the refusal seen');
    outputs.push(
      ['/status', (await fw.getText('/status')).text],
      ['/metrics', (await fw.getText('/metrics')).text],
      ['/readyz', (await fw.getText('/readyz')).text],
    );
    const statusCli = await runCli(['status', '--config', config, '--url', fw.adminUrl], env);
    outputs.push(['`status` output', statusCli.out]);
    const spoolCli = await runCli(['spool', 'stats', '--config', config, '--url', fw.adminUrl], env);
    outputs.push(['`spool stats` output', spoolCli.out]);
    assert.equal(await fw.stop(), 0);
    outputs.push(
      ['forwarder stdout', fw.logs.map((l) => JSON.stringify(l)).join('\n')],
      ['forwarder stderr', fw.stderr()],
    );
    assert.ok(
      fw.logs.some((l) => l.level === 'debug'),
      'debug lines were written, and are searched',
    );
    assert.ok(
      fw.logs.some((l) => /refused the api key/.test(String(l.msg))),
      'the refusal was logged',
    );

    // `check` with the key refused, and again with it accepted
    const refusedCheck = await runCli(['check', '--config', config], env);
    assert.match(refusedCheck.out, /datadog\.validate/);
    outputs.push(['`check` (key refused)', refusedCheck.out]);
    intake.setApiKeys([apiKey]);
    const [check, checkFile] = await Promise.all([
      runCli(['check', '--config', config], env),
      runCli(['check', '--config', config, '--datadog-api-key-file', paths.apiKeyFile], {}),
    ]);
    assert.match(check.out, /PASS +datadog\.validate/, check.out);
    assert.match(check.out, /PASS +teleport\.connect/, check.out);
    outputs.push(['`check`', check.out], ['`check` with api-key-file', checkFile.out]);

    // start failures: a wrong passphrase, a missing one, and config errors next to secrets
    const wrong = await runCli(['start', '--config', config, '--ingest-key-passphrase-file', '/dev/null'], {
      ...env,
      TDF_INGEST_KEY_PASSPHRASE: 'wrong-' + passphrase.slice(6),
    });
    assert.equal(wrong.code, 2, wrong.out);
    assert.match(wrong.out, /passphrase is wrong/);
    outputs.push(['start with a wrong passphrase', wrong.out]);
    // each beside a valid ingest, so the error is about the secret's own key
    const ingest = `[ingest]\nhost = "127.0.0.1"\nport = 0\nca = "${paths.ca}"\ncert = "${paths.cert}"\nkey = "${paths.key}"\n`;
    const withPass = `${ingest}key-passphrase-file = "${paths.pass}"\n`;
    const bad: Array<[string, string]> = [
      ['api key of the wrong type', `${withPass}[datadog]\nurl = "${intake.url}"\napi-key = ["${apiKey}"]\n`],
      [
        'passphrase of the wrong type',
        `${ingest}key-passphrase = ["${passphrase}"]\n[datadog]\nurl = "${intake.url}"\napi-key = "${apiKey}"\n`,
      ],
      ['api key on a line with a toml syntax error', `${withPass}[datadog]\napi-key = "${apiKey}\n`],
      ['passphrase on a line with a toml syntax error', `${ingest}key-passphrase = ${passphrase}"\n`],
      ['unknown key beside the api key', `${withPass}[datadog]\napi-key = "${apiKey}"\napi-kee = "${apiKey}"\n`],
      ['the api key pasted into site', `${withPass}[datadog]\nsite = "${apiKey}"\n`],
    ];
    // cli starts cost seconds each: the failing ones run side by side
    const runs = await Promise.all(
      bad.map(async ([name, text], i) => {
        const file = join(dir, `bad-${i}.toml`);
        writeFileSync(file, text);
        return [name, await runCli(['start', '--config', file], env)] as const;
      }),
    );
    for (const [name, r] of runs) {
      assert.equal(r.code, 2, `${name}: ${r.out}`);
      assert.match(r.out, /^error: /m, name);
      outputs.push([`start, ${name}`, r.out]);
      t.diagnostic(`${name}: ${r.out.trim().split('\n').pop()}`);
    }

    for (const entry of storageTexts(storage)) outputs.push(entry);
    const found = outputs.flatMap(([where, text]) => leaks(where, text, secrets));
    t.diagnostic(
      `searched ${outputs.length} outputs (${outputs.reduce((n, [, s]) => n + s.length, 0)} chars) for ${secrets.length} secret pieces`,
    );
    assert.deepEqual(found, [], 'secrets found');
  },
);

test(
  'an intake that echoes the api key in its refusals (400, 403): the key reaches neither the log nor a dead letter',
  { timeout: 60_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tdf-echo-'));
    const apiKey = randomBytes(16).toString('hex');
    const { intake } = await startCountingIntake({ apiKeys: [apiKey] });
    t.after(async () => {
      await intake.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const ca = createCA();
    const server = createCert(ca, { usage: 'server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
    const client = createCert(ca, { usage: 'client' });
    writeFileSync(join(dir, 'ca.crt'), ca.cert);
    writeFileSync(join(dir, 'server.crt'), server.cert);
    writeFileSync(join(dir, 'server.key'), server.key, { mode: 0o600 });
    const config = join(dir, 'forwarder.toml');
    writeFileSync(
      config,
      `storage = "${join(dir, 'storage')}"\nlog-level = "trace"\n[ingest]\nhost = "127.0.0.1"\nport = 0\nca = "${join(dir, 'ca.crt')}"\ncert = "${join(dir, 'server.crt')}"\nkey = "${join(dir, 'server.key')}"\n[datadog]\nurl = "${intake.url}"\n`,
    );
    // the first record is refused for good (a dead letter with the answer as its reason), the second meets a 403
    intake.inject({ status: 400, times: 1, body: JSON.stringify({ errors: [`bad request from key ${apiKey}`] }) });
    const fw = await startForwarder(config, { DD_API_KEY: apiKey });
    const tls: TlsFiles = {
      dir,
      ca,
      server,
      client,
      paths: { ca: '', cert: '', key: '', clientCert: '', clientKey: '' },
    };
    await startLoad({ port: fw.port!, tls, prefix: 'echo-dead', connections: 1, limit: 1 }).done;
    await waitFor(async () => (await fw.getJson('/status')).deadLetters === 1, 'the refused record dead-lettered');
    intake.inject({
      status: 403,
      times: 1,
      body: JSON.stringify({ errors: [`Forbidden: API key ${apiKey} is not valid`] }),
    });
    await startLoad({ port: fw.port!, tls, prefix: 'echo-auth', connections: 1, limit: 1 }).done;
    await waitFor(() => fw.logs.some((l) => /refused the api key/.test(String(l.msg))), 'the refusal logged');
    const status = (await fw.getText('/status')).text;
    await fw.stop();
    const ls = await runCli(['spool', 'ls', '--dead', '--config', config], {});
    assert.equal(ls.code, 0, ls.out);
    assert.match(ls.out, /status 400/);
    for (const [where, text] of [
      ['log', fw.logs.map((l) => JSON.stringify(l)).join('\n') + fw.stderr()],
      ['/status', status],
      ['spool ls --dead', ls.out],
    ]) {
      assert.ok(!text!.includes(apiKey), `the api key is in ${where}`);
    }
  },
);

test(
  'an api key file with a second line is refused at start, not sent as a broken header forever',
  {
    timeout: 60_000,
  },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tdf-keyfile-'));
    const apiKey = randomBytes(16).toString('hex');
    const ca = createCA();
    const server = createCert(ca, { usage: 'server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
    writeFileSync(join(dir, 'ca.crt'), ca.cert);
    writeFileSync(join(dir, 'server.crt'), server.cert);
    writeFileSync(join(dir, 'server.key'), server.key, { mode: 0o600 });
    writeFileSync(join(dir, 'dd.key'), `${apiKey}\nsecond line\n`, { mode: 0o600 });
    const config = join(dir, 'forwarder.toml');
    writeFileSync(
      config,
      `storage = "${join(dir, 'storage')}"\n[ingest]\nhost = "127.0.0.1"\nport = 0\nca = "${join(dir, 'ca.crt')}"\ncert = "${join(dir, 'server.crt')}"\nkey = "${join(dir, 'server.key')}"\n[datadog]\nurl = "http://127.0.0.1:9"\napi-key-file = "${join(dir, 'dd.key')}"\n`,
    );
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    let fw: Forwarder | undefined;
    try {
      fw = await startForwarder(config, {});
    } catch {
      // exited before listening: what is expected
    }
    if (fw) {
      await fw.stop();
      assert.fail('the forwarder started with a two-line api key file');
    }
  },
);
