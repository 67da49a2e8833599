// realistic teleport audit events as teleport-event-handler posts them: one json object per request, about
// 500 bytes, a unique uid each, the time of sending. a few event shapes in rotation; pure and cheap per call so
// the load generator spends its cpu on the wire, not on building bodies.

const CLUSTER = 'tele.example.com';
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin'];
const NODES = ['node-1', 'node-2', 'db-proxy-1', 'bastion-eu', 'build-runner-7'];

type Shape = (n: number, uid: string, time: string) => string;

const pick = <T>(list: T[], n: number): T => list[n % list.length]!;

const SHAPES: Shape[] = [
  (n, uid, time) =>
    JSON.stringify({
      'addr.local': '10.0.3.14:3022',
      'addr.remote': `203.0.113.${n % 250}:${40000 + (n % 20000)}`,
      cluster_name: CLUSTER,
      code: 'T2000I',
      ei: 0,
      event: 'session.start',
      login: 'root',
      namespace: 'default',
      private_key_policy: 'none',
      proto: 'ssh',
      server_addr: '10.0.3.14:3022',
      server_hostname: pick(NODES, n),
      server_id: 'b7a1c2d3-9e8f-4a6b-8c1d-2e3f4a5b6c7d',
      session_recording: 'node',
      sid: sessionId(n),
      size: '80:25',
      time,
      uid,
      user: pick(USERS, n),
      user_kind: 1,
    }),
  (n, uid, time) =>
    JSON.stringify({
      'addr.remote': `198.51.100.${n % 250}:${50000 + (n % 10000)}`,
      cluster_name: CLUSTER,
      code: 'T1000I',
      ei: 0,
      event: 'user.login',
      method: 'local',
      success: true,
      time,
      uid,
      user: pick(USERS, n),
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      mfa_device: {
        mfa_device_name: 'yubikey-5c',
        mfa_device_type: 'WebAuthn',
        mfa_device_uuid: '4f8b2c1e-7a9d-4e3b-9c0f-2d6e8a1b3c5d',
      },
      required_private_key_policy: 'none',
    }),
  (n, uid, time) =>
    JSON.stringify({
      'addr.local': '10.0.3.15:3022',
      'addr.remote': `203.0.113.${n % 250}:${40000 + (n % 20000)}`,
      cluster_name: CLUSTER,
      code: 'T3002I',
      command: 'systemctl status nginx --no-pager -l',
      ei: n % 90,
      event: 'exec',
      exitCode: '0',
      login: 'ubuntu',
      namespace: 'default',
      proto: 'ssh',
      server_hostname: pick(NODES, n),
      server_id: 'c4d5e6f7-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
      sid: sessionId(n),
      time,
      uid,
      user: pick(USERS, n),
    }),
  (n, uid, time) =>
    JSON.stringify({
      cluster_name: CLUSTER,
      code: 'TDB02I',
      db_name: 'orders',
      db_protocol: 'postgres',
      db_query: 'SELECT id, email, created_at FROM customers WHERE id = $1 AND tenant_id = $2',
      db_query_parameters: [String(n % 100000), 'acme'],
      db_service: 'orders-db',
      db_uri: 'orders.abc123.eu-west-1.rds.amazonaws.com:5432',
      db_user: 'reader',
      ei: n % 500,
      event: 'db.session.query',
      sid: sessionId(n),
      success: true,
      time,
      uid,
      user: pick(USERS, n),
    }),
  (n, uid, time) =>
    JSON.stringify({
      cert_type: 'user',
      cluster_name: CLUSTER,
      code: 'TC000I',
      ei: 0,
      event: 'cert.create',
      identity: {
        expires: time,
        logins: ['root', 'ubuntu', '-teleport-internal-join'],
        roles: ['access', 'editor'],
        route_to_cluster: CLUSTER,
        teleport_cluster: CLUSTER,
        traits: { logins: ['root', 'ubuntu'] },
        user: pick(USERS, n),
      },
      time,
      uid,
    }),
];

/** a uuid-shaped id unique per (run, n): cheap, no randomness per call */
export function uidFor(run: string, n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return `${run}-4000-8000-${hex}`;
}

function sessionId(n: number): string {
  const s = Math.floor(n / 50)
    .toString(16)
    .padStart(12, '0');
  return `8d57a9d5-3848-4ce2-a326-${s}`;
}

/** a random 8-hex-digit prefix so uids from different runs never collide */
export function runPrefix(): string {
  return (
    Math.floor(Math.random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0') +
    '-' +
    (Date.now() & 0xffff).toString(16).padStart(4, '0')
  );
}

/** the json body of event n */
export function eventBody(run: string, n: number, now = Date.now()): string {
  return pick(SHAPES, n)(n, uidFor(run, n), new Date(now).toISOString());
}
