// <filter> parity end to end, through the cli: a fluent.conf with grep and record_transformer filters started as
// it is (ingest path), and a TOML config with [[filter]] tables on the poller path, both shipping to the local
// intake. what arrives is what fluentd 1.15 would have sent with the same filters; /status and /metrics count
// each filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeIntake } from '../../src/fakes/intake.js';
import { datasetFromEvents } from '../../src/fakes/teleport.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';
import { writeTlsFiles, MtlsClient } from '../helpers/mtls.js';
import { runForwarder, waitFor, type RunningForwarder } from '../helpers/forwarder.js';
import { pollerEnv } from '../helpers/poller-env.js';
import { cliCommand } from '../helpers/paths.js';
import { loadConfig } from '../../src/config/load.js';

const API_KEY = 'filt0123456789abcdef0123456789abc';

async function adminPort(fw: RunningForwarder): Promise<number> {
  const l = await fw.waitForLog((x) => typeof x.msg === 'string' && x.msg.startsWith('admin server listening'));
  return l.port as number;
}

test('start --config fluent.conf with grep and record_transformer filters: the intake gets what fluentd would send', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-filters-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tls = writeTlsFiles(dir);
  const conf = join(dir, 'fluent.conf');
  writeFileSync(
    conf,
    `<source>
  @type http
  port 8888
  <transport tls>
    client_cert_auth true
    ca_path ${tls.paths.ca}
    cert_path ${tls.paths.cert}
    private_key_path ${tls.paths.key}
  </transport>
  <parse>
    @type json
  </parse>
</source>

<filter test.log>
  @type grep
  <exclude>
    key event
    pattern /^db\\.session\\.query$/
  </exclude>
  <or>
    <regexp>
      key $.server_labels.env
      pattern /^prod$/
    </regexp>
    <regexp>
      key success
      pattern ^false$
    </regexp>
  </or>
</filter>

<filter test.log>
  @type record_transformer
  remove_keys $.addr.remote,password
  <record>
    env prod
    teleport_cluster \${record["cluster_name"]}
    kind \${tag_parts[0]}-\${tag_parts[-1]}
    login_ok \${record["success"]}
    missing \${record["nope"]}
  </record>
</filter>

<match test.log>
  @type datadog
  api_key ${API_KEY}
  dd_source teleport
</match>
`,
  );
  const intake = await startFakeIntake({ apiKeys: [API_KEY] });
  const fw = await runForwarder([
    'start',
    '--config',
    conf,
    '--datadog-url',
    intake.url,
    '--ingest-port',
    '0',
    '--ingest-host',
    '127.0.0.1',
    '--storage',
    join(dir, 'storage'),
  ]);
  const client = new MtlsClient(fw.port!, tls);
  t.after(async () => {
    client.close();
    await fw.stop();
    await intake.close();
  });
  const events = [
    // kept: success false
    {
      event: 'user.login',
      uid: 'u1',
      success: false,
      cluster_name: 'tele.example.com',
      addr: { remote: '10.0.0.1:5555', local: '10.0.0.2:3025' },
      password: 'x',
    },
    // dropped by the exclude
    { event: 'db.session.query', uid: 'u2', success: false, server_labels: { env: 'prod' } },
    // kept: server_labels.env is prod
    { event: 'session.start', uid: 'u3', success: true, server_labels: { env: 'prod' }, cluster_name: 'c2' },
    // dropped: neither <or> regexp matches (success true, no labels)
    { event: 'user.login', uid: 'u4', success: true },
  ];
  assert.equal((await client.post('/test.log', JSON.stringify(events))).status, 200);
  await waitFor(() => intake.logs.length >= 2, 'two records at the intake');
  const port = await adminPort(fw);
  const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as any;
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.equal(intake.logs.length, 2);
  const [a, b] = intake.logs as any[];
  assert.equal(a.uid, 'u1');
  assert.deepEqual(a.addr, { local: '10.0.0.2:3025' });
  assert.equal('password' in a, false);
  assert.equal(a.env, 'prod');
  assert.equal(a.teleport_cluster, 'tele.example.com');
  assert.equal(a.kind, 'test-log');
  // auto_typecast: a placeholder alone keeps the value's type; one that does not resolve is null
  assert.equal(a.login_ok, false);
  assert.equal(a.missing, null);
  assert.equal(a.ddsource, 'teleport');
  assert.equal(b.uid, 'u3');
  assert.equal(b.teleport_cluster, 'c2');
  assert.deepEqual(
    status.filters.map((f: any) => [f.index, f.type, f.in, f.out, f.dropped]),
    [
      [1, 'grep', 4, 2, 2],
      [2, 'record_transformer', 2, 2, 0],
    ],
  );
  assert.match(metrics, /tdf_filter_records_total\{filter="1",type="grep",result="dropped"\} 2/);
  assert.match(metrics, /tdf_filter_records_total\{filter="2",type="record_transformer",result="out"\} 2/);
});

test('a TOML config with [[filter]] tables on the poller path: grep, record_transformer and an HMAC redact', async (t) => {
  const day = new Date().toISOString().slice(0, 10);
  const at = (s: number) => `${day}T00:00:0${s}.000Z`;
  const events = [
    { event: 'user.login', uid: 'p1', time: at(1), user: 'alice', success: false, cluster_name: 'tele.example.com' },
    { event: 'db.session.query', uid: 'p2', time: at(2), user: 'bob', cluster_name: 'tele.example.com' },
    { event: 'user.login', uid: 'p3', time: at(3), user: 'alice', success: true, cluster_name: 'tele.example.com' },
    { event: 'session.start', uid: 'p4', time: at(4), user: 'carol', cluster_name: 'tele.example.com' },
  ];
  const ds = datasetFromEvents(events, { chunkSize: 2 });
  const { dir, fake, intake, startTime } = await pollerEnv(t, ds, API_KEY);
  const client = fake.issueClientCert({ user: 'teleport-event-handler', ttlHours: 24 });
  writeFileSync(join(dir, 'identity'), formatIdentityFile({ key: client.key, cert: client.cert, cas: [fake.ca] }), {
    mode: 0o600,
  });
  const hmacKey = 'poller-hmac-key-0123456789abcdef';
  writeFileSync(join(dir, 'hmac.key'), hmacKey + '\n', { mode: 0o600 });
  const config = join(dir, 'forwarder.toml');
  writeFileSync(
    config,
    `storage = "./storage"
start-time = "${startTime}"

[ingest]
enabled = false

[teleport]
addr = "${fake.address}"
identity = "identity"

[[filter]]
pattern = "events.log"
type = "grep"
[[filter.exclude]]
key = "event"
pattern = '^db\\.session\\.query$'

[[filter]]
type = "record_transformer"
[filter.record]
teleport_cluster = '\${record["cluster_name"]}'
login = '\${record["event"]}/\${record["success"]}'

[[filter]]
type = "redact"
keys = ["user"]
mode = "hmac"
key-file = "hmac.key"

[[match]]
pattern = "**"
source = "teleport"
service = 'teleport-\${tag_parts[0]}'
tags = ['teleport_cluster:\${record["cluster_name"]}', "env:prod"]
`,
  );
  const fw = await runForwarder(
    ['start', '--config', config, '--datadog-url', intake.url, '--exit-on-last-event'],
    { DD_API_KEY: API_KEY },
    { waitForIngest: false },
  );
  assert.equal(await fw.exited, 0, fw.stderr());
  const logs = intake.logs as any[];
  assert.deepEqual(
    logs.map((l) => l.uid),
    ['p1', 'p3', 'p4'],
  );
  const token = 'hmac:' + createHmac('sha256', hmacKey).update('alice').digest('hex').slice(0, 32);
  assert.equal(logs[0].user, token);
  assert.equal(logs[1].user, token, 'the same user maps to the same token');
  assert.notEqual(logs[2].user, token);
  assert.equal(logs[0].teleport_cluster, 'tele.example.com');
  assert.equal(logs[0].login, 'user.login/false');
  assert.equal(logs[2].login, 'session.start/');
  // the match rule's service and tags from the record
  assert.equal(logs[0].service, 'teleport-events');
  assert.equal(logs[0].ddtags, 'teleport_cluster:tele.example.com,env:prod');
  // the key never reaches a log line
  assert.ok(!JSON.stringify(fw.logs).includes(hmacKey) && !fw.stderr().includes(hmacKey));
});

test('migrate writes the same filters start --config fluent.conf runs, and reports what it did not carry', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-filters-migrate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tls = writeTlsFiles(dir);
  const conf = join(dir, 'fluent.conf');
  writeFileSync(
    conf,
    `<source>
  @type http
  port 8888
  <transport tls>
    client_cert_auth true
    ca_path ${tls.paths.ca}
    cert_path ${tls.paths.cert}
    private_key_path ${tls.paths.key}
  </transport>
</source>
<filter test.log>
  @type grep
  regexp1 event ^user\\.
  <exclude>
    key $.server_labels.env
    pattern /^dev$/i
  </exclude>
</filter>
<filter **>
  @type record_transformer
  enable_ruby true
  remove_keys password
  <record>
    env \${record["labels"]["env"]}
    host "#{Socket.gethostname}"
  </record>
</filter>
<filter **>
  @type parser
  key_name log
</filter>
<match test.log>
  @type datadog
  api_key ${API_KEY}
</match>
`,
  );
  const out = join(dir, 'forwarder.toml');
  const r = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'migrate', conf, '--out', out], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /fluent\.conf:28 +<filter \*\*> @type parser is not carried over/);
  assert.match(r.stdout, /#\{Socket\.gethostname\} in "host" is carried over as \$\{hostname\}/);
  assert.match(readFileSync(out, 'utf8'), /^\[\[filter\]\]$/m);
  const migrated = loadConfig({ file: out, env: {} });
  const direct = loadConfig({ file: conf, env: {} });
  assert.deepEqual(migrated.filters, direct.filters);
  assert.deepEqual(
    migrated.filters.map((f) => f.type),
    ['grep', 'record_transformer'],
  );

  // ruby that would have to be evaluated stops the migration, with the line
  writeFileSync(conf, readFileSync(conf, 'utf8').replace('record["labels"]["env"]', 'record["labels"].keys.first'));
  const bad = spawnSync(cliCommand[0]!, [...cliCommand.slice(1), 'migrate', conf, '--out', join(dir, 'x.toml')], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });
  assert.notEqual(bad.status, 0);
  assert.match(
    bad.stderr + bad.stdout,
    /fluent\.conf:24: .*record\["labels"\]\.keys\.first\} needs ruby to be evaluated/,
  );
});
