// the poller through a teleport proxy with tls routing, on a port `auto` would take for the auth service: the cli
// with `teleport.mode = "proxy"` reaches the fake Auth Service behind a routing front, which, like a proxy, only
// routes connections whose ALPN names the auth service of its cluster. `teleport.cluster-name` overrides the name
// read from the identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createFakeTeleportTls,
  generatedDataset,
  type FakeDataset,
  type FakeTeleport,
} from '../../src/fakes/teleport.js';
import { formatIdentityFile } from '../../src/sources/teleport/identity.js';
import { authAlpnProtocol } from '../../src/sources/teleport/credentials.js';
import { runForwarder, waitFor } from '../helpers/forwarder.js';
import { awayFromUtcMidnight } from '../helpers/clock.js';
import { pollerEnv } from '../helpers/poller-env.js';
import { tlsFront, type TlsFront } from '../helpers/tls-front.js';

await awayFromUtcMidnight();

const API_KEY = 'prox0123456789abcdef0123456789abc';
const DAY = 86_400_000;

/**
 * a routing front: terminates the client's tls with the auth service's certificate (mTLS, the cluster's CA), routes
 * only connections that offer `teleport-auth@<hex(cluster)>.teleport.cluster.local`, and forwards their bytes over
 * a tls connection of its own to the auth service (in teleport the tls stream itself is passed on; for this test
 * what matters is what the client offers and that the rest of the call works through it)
 */
function routingFront(
  fake: FakeTeleport,
  serverTls: { cert: string; key: string },
  cluster: string,
): Promise<TlsFront> {
  const upstream = fake.issueClientCert({ user: 'routing-front', ttlHours: 1 });
  const at = fake.address.lastIndexOf(':');
  return tlsFront({
    ...serverTls,
    ca: [fake.ca],
    // no route without the auth service's protocol: undefined ends the handshake with no_application_protocol
    choose: (protocols) =>
      protocols.includes(authAlpnProtocol(cluster)) && protocols.includes('h2') ? 'h2' : undefined,
    upstream: () =>
      tls.connect({
        host: fake.address.slice(0, at),
        port: Number(fake.address.slice(at + 1)),
        ca: [fake.ca],
        cert: upstream.cert,
        key: upstream.key,
        servername: 'teleport.cluster.local',
        ALPNProtocols: ['h2'],
      }),
  });
}

function dataset(): FakeDataset {
  const today = Date.parse(new Date().toISOString().slice(0, 10));
  return generatedDataset({
    dates: { start: new Date(today - DAY), days: 2 },
    eventsPerDate: 80,
    chunksPerDate: 2,
    sessions: { count: 0, eventsPerSession: 0 },
    seed: 5,
  });
}

async function setup(t: import('node:test').TestContext, cluster: string) {
  const ds = dataset();
  const serverTls = createFakeTeleportTls(ds.clusterName);
  const { dir, fake, intake, startTime } = await pollerEnv(t, ds, API_KEY, { tls: serverTls });
  const front = await routingFront(fake, serverTls, cluster);
  t.after(() => front.close());
  const client = fake.issueClientCert({ user: 'teleport-event-handler', ttlHours: 24 });
  writeFileSync(join(dir, 'identity'), formatIdentityFile({ key: client.key, cert: client.cert, cas: [fake.ca] }), {
    mode: 0o600,
  });
  const config = (teleportExtra: string) => {
    const file = join(dir, 'forwarder.toml');
    writeFileSync(
      file,
      `storage = "${join(dir, 'storage')}"
start-time = "${startTime}"
poll-interval = "200ms"

[ingest]
enabled = false

[teleport]
addr = "127.0.0.1:${front.port}"
identity = "${join(dir, 'identity')}"
${teleportExtra}
`,
    );
    return file;
  };
  const start = (file: string) =>
    runForwarder(
      ['start', '--config', file, '--datadog-url', intake.url, '--exit-on-last-event'],
      { DD_API_KEY: API_KEY },
      { waitForIngest: false },
    );
  const uids = () => intake.logs.map((l) => String(l.uid)).sort();
  const want = Array.from({ length: ds.events.length }, (_, i) => String(ds.events.eventAt(i).json.uid)).sort();
  return { ds, front, config, start, uids, want };
}

test('teleport.mode = "proxy" reaches the auth service through a tls-routing proxy on any port; every event once', async (t) => {
  const { ds, front, config, start, uids, want } = await setup(t, 'tele.example.com');
  assert.equal(ds.clusterName, 'tele.example.com');
  const fw = await start(config('mode = "proxy"'));
  assert.equal(await fw.exited, 0, fw.stderr());
  assert.deepEqual(uids(), want, 'every event once, through the proxy');
  assert.ok(front.seen.length > 0);
  for (const { alpn } of front.seen) assert.deepEqual(alpn, [authAlpnProtocol('tele.example.com'), 'h2']);
});

test('teleport.cluster-name routes to a cluster other than the one the identity names', async (t) => {
  // a leaf's name, say: the front only routes to "leaf.example.com"
  const { front, config, start, uids, want } = await setup(t, 'leaf.example.com');
  const fw = await start(config('mode = "proxy"\ncluster-name = "leaf.example.com"'));
  assert.equal(await fw.exited, 0, fw.stderr());
  assert.deepEqual(uids(), want);
  for (const { alpn } of front.seen) assert.deepEqual(alpn, [authAlpnProtocol('leaf.example.com'), 'h2']);
});

test('auto mode on a port other than 443/3080 dials the auth service directly; such a proxy refuses, and the error says to set teleport.mode', async (t) => {
  const { front, config, start, uids } = await setup(t, 'tele.example.com');
  const fw = await start(config(''));
  try {
    const said = () => fw.logs.find((l) => /routes connections by ALPN/.test(String(l.msg)));
    await waitFor(() => said() !== undefined, 'the proxy explained', 30_000);
    assert.equal(said()!.level, 'error', 'waiting does not fix it');
    assert.match(String(said()!.hint), /set teleport\.mode = "proxy"/);
    assert.deepEqual(front.seen[0]!.alpn, ['h2'], 'auto on this port offered only h2 (direct)');
    assert.deepEqual(uids(), [], 'nothing got through');
  } finally {
    fw.proc.kill('SIGTERM');
    await fw.exited;
  }
});

test('proxy mode with a cluster the proxy does not serve: the error names the cluster and teleport.cluster-name', async (t) => {
  const { config, start } = await setup(t, 'tele.example.com');
  const fw = await start(config('mode = "proxy"\ncluster-name = "other.example.com"'));
  try {
    const said = () =>
      fw.logs.find((l) => /has no route to the auth service of cluster other\.example\.com/.test(String(l.msg)));
    await waitFor(() => said() !== undefined, 'the missing route explained', 30_000);
    assert.match(String(said()!.hint), /teleport\.cluster-name/);
  } finally {
    fw.proc.kill('SIGTERM');
    await fw.exited;
  }
});
