// realistic teleport audit and session-recording events, built deterministically from integers so a dataset of
// any size is a function, not an array. shapes follow the reference's example events
// (/work/shared/reference/teleport-event-handler.md): `event`, `code` with a severity letter, `uid`, `time`
// (RFC3339 with ms), `cluster_name`, `ei`; `print` events carry base64 `data` and no code or uid.

export type Json = Record<string, unknown>;

/** a bijection on 32-bit integers (lowbias32): distinct inputs give distinct outputs */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d);
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** a 32-bit hash of a few integers (not a bijection; use for choices, not identities) */
export function hash32(seed: number, a: number, b = 0, c = 0): number {
  return mix32((seed ^ mix32((a + mix32((b ^ mix32(c >>> 0)) >>> 0)) >>> 0)) >>> 0);
}

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
const hex4 = (n: number): string => (n & 0xffff).toString(16).padStart(4, '0');

/**
 * a uuid-v4-looking id, unique for distinct (domain < 65536, n < 2^32) under one seed: the last group holds
 * the domain and a bijection of n, the rest is hash noise
 */
export function fakeUuid(seed: number, domain: number, n: number): string {
  const a = hash32(seed, domain, n, 1);
  const b = hash32(seed, domain, n, 2);
  const c = hash32(seed, domain, n, 3);
  const variant = (8 | ((c >>> 28) & 3)).toString(16);
  return (
    `${hex8(a)}-${hex4(b >>> 16)}-4${hex4(b).slice(1)}-${variant}${hex4(c >>> 16).slice(1)}-` +
    `${hex4(domain)}${hex8(mix32((n ^ seed) >>> 0))}`
  );
}

/** 16 hex chars from a hash: opaque ids such as export chunk names */
export function opaqueId(seed: number, a: number, b: number): string {
  return hex8(hash32(seed, a, b, 0x0c)) + hex8(hash32(seed, a, b, 0x1d));
}

const p2 = (n: number): string => (n < 10 ? '0' : '') + n;
const p3 = (n: number): string => (n < 10 ? '00' : n < 100 ? '0' : '') + n;
let isoDay = NaN;
let isoPrefix = '';

/** `new Date(ms).toISOString()` for times from 1970 on, six times faster: the date part is cached per day */
export function iso(ms: number): string {
  const day = Math.floor(ms / 86_400_000);
  if (!(ms >= 0) || ms > 253_402_300_799_999) return new Date(ms).toISOString();
  if (day !== isoDay) {
    isoDay = day;
    isoPrefix = new Date(day * 86_400_000).toISOString().slice(0, 11);
  }
  let r = ms - day * 86_400_000;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const m = Math.floor(r / 60_000);
  r -= m * 60_000;
  const sec = Math.floor(r / 1000);
  return `${isoPrefix}${p2(h)}:${p2(m)}:${p2(sec)}.${p3(r - sec * 1000)}Z`;
}

const pick = <T>(list: readonly T[], h: number): T => list[h % list.length]!;

interface User {
  name: string;
  roles: string[];
  logins: string[];
}
const USERS: readonly User[] = [
  { name: 'alice', roles: ['access', 'editor'], logins: ['root', 'alice'] },
  { name: 'bob', roles: ['access'], logins: ['ubuntu', 'bob'] },
  { name: 'carol', roles: ['access', 'db-admin'], logins: ['carol'] },
  { name: 'dave', roles: ['auditor'], logins: ['dave'] },
  { name: 'erin', roles: ['access', 'devops'], logins: ['root', 'erin'] },
  { name: 'frank', roles: ['access'], logins: ['ec2-user'] },
];

interface Node {
  hostname: string;
  id: string;
  addr: string;
}
const NODES: readonly Node[] = Array.from({ length: 6 }, (_, i) => ({
  hostname: `node-${i + 1}`,
  id: fakeUuid(0x5eed, 0xfffe, i),
  addr: `10.0.${1 + (i >> 2)}.${5 + i}:3022`,
}));

const USER_AGENTS = ['tsh/17.4.2', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/128.0', 'tbot/17.4.2'];
const METHODS = ['local', 'local', 'github', 'saml'];
const DB_QUERIES = [
  "SELECT id, status FROM orders WHERE created_at > now() - interval '1 day'",
  "UPDATE orders SET status = 'shipped' WHERE id = $1",
  'SELECT count(*) FROM customers',
  'BEGIN',
  'COMMIT',
  'SELECT * FROM pg_stat_activity',
];
const DBS = [
  { service: 'orders-pg', uri: 'orders-pg.internal:5432', protocol: 'postgres', name: 'orders', user: 'app_ro' },
  { service: 'billing-mysql', uri: 'billing.internal:3306', protocol: 'mysql', name: 'billing', user: 'reporter' },
];
const REASONS = [
  'incident INC-4211: need prod db read',
  'deploy of release 2026.11',
  'on-call handover',
  'customer ticket 88412',
];
const REQUESTED_ROLES = [['db-admin'], ['prod-access'], ['editor', 'prod-access']];
const SIZES = ['80:25', '120:40', '200:50', '132:43'];

const remoteIp = (h: number): string => `203.0.113.${1 + ((h & 0xff) % 254)}`;
const remoteAddr = (h: number): string => `${remoteIp(h)}:${49152 + ((h >>> 8) % 16000)}`;

/** what an ordinary (non-session) audit event needs: its time, uid and some hash bits for choices */
export interface EventContext {
  cluster: string;
  timeMs: number;
  uid: string;
  h: number;
}

export type OrdinaryKind = 'login.ok' | 'login.failed' | 'cert' | 'db.query' | 'access.request' | 'lock' | 'role';

/** the event type each ordinary kind produces */
export const KIND_TYPE: Record<OrdinaryKind, string> = {
  'login.ok': 'user.login',
  'login.failed': 'user.login',
  cert: 'cert.create',
  'db.query': 'db.session.query',
  'access.request': 'access_request.create',
  lock: 'lock.created',
  role: 'role.created',
};

// per-mille weights of ordinary kinds: mostly logins, certs and db queries, a few requests, rare locks
const KIND_TABLE: Array<[number, OrdinaryKind]> = [
  [220, 'login.ok'],
  [260, 'login.failed'],
  [500, 'cert'],
  [880, 'db.query'],
  [960, 'access.request'],
  [975, 'lock'],
  [1000, 'role'],
];

/** picks an ordinary kind from hash bits */
export function ordinaryKind(h: number): OrdinaryKind {
  const r = h % 1000;
  for (const [limit, kind] of KIND_TABLE) if (r < limit) return kind;
  return 'role';
}

// builders write whole object literals in key order: object spread is ~1000x slower on this hot path
export function ordinaryEvent(kind: OrdinaryKind, c: EventContext): Json {
  const user = pick(USERS, c.h >>> 3);
  const time = iso(c.timeMs);
  switch (kind) {
    case 'login.ok':
      return {
        'addr.remote': remoteAddr(c.h),
        cluster_name: c.cluster,
        code: 'T1000I',
        ei: 0,
        event: 'user.login',
        method: pick(METHODS, c.h >>> 7),
        success: true,
        time,
        uid: c.uid,
        user: user.name,
        user_agent: pick(USER_AGENTS, c.h >>> 11),
      };
    case 'login.failed':
      // probes for names that do not exist: one failure per name, so random noise never trips a lock
      return failedLogin(c, `probe-${(c.h >>> 4).toString(16).padStart(7, '0')}`);
    case 'cert':
      return {
        cert_type: 'user',
        cluster_name: c.cluster,
        code: 'TC000I',
        ei: 0,
        event: 'cert.create',
        identity: {
          client_ip: remoteIp(c.h),
          expires: iso(c.timeMs + 12 * 3600_000),
          logins: user.logins,
          prev_identity_expires: '0001-01-01T00:00:00Z',
          private_key_policy: 'none',
          roles: user.roles,
          route_to_cluster: c.cluster,
          teleport_cluster: c.cluster,
          user: user.name,
        },
        time,
        uid: c.uid,
      };
    case 'db.query': {
      const db = pick(DBS, c.h >>> 9);
      return {
        cluster_name: c.cluster,
        code: 'TDB02I',
        db_name: db.name,
        db_protocol: db.protocol,
        db_query: pick(DB_QUERIES, c.h >>> 13),
        db_service: db.service,
        db_uri: db.uri,
        db_user: db.user,
        ei: 1 + ((c.h >>> 5) % 40),
        event: 'db.session.query',
        sid: fakeUuid(c.h, 0xfffb, c.h >>> 16),
        success: true,
        time,
        uid: c.uid,
        user: user.name,
      };
    }
    case 'access.request':
      return {
        cluster_name: c.cluster,
        code: 'T5000I',
        ei: 0,
        event: 'access_request.create',
        expires: iso(c.timeMs + 3600_000),
        id: fakeUuid(c.h, 0xfffd, c.timeMs % 0xffffffff),
        max_duration: iso(c.timeMs + 8 * 3600_000),
        reason: pick(REASONS, c.h >>> 6),
        roles: pick(REQUESTED_ROLES, c.h >>> 10),
        state: 'PENDING',
        time,
        uid: c.uid,
        user: user.name,
      };
    case 'lock':
      return {
        cluster_name: c.cluster,
        code: 'TLK00I',
        ei: 0,
        event: 'lock.created',
        expires: iso(c.timeMs + 3600_000),
        name: fakeUuid(c.h, 0xfffa, c.timeMs % 0xffffffff),
        target: { user: pick(USERS, c.h >>> 12).name },
        time,
        uid: c.uid,
        updated_by: 'admin',
        user: 'admin',
      };
    case 'role':
      return {
        cluster_name: c.cluster,
        code: 'T9000I',
        ei: 0,
        event: 'role.created',
        expires: '0001-01-01T00:00:00Z',
        name: `contractor-${(c.h >>> 20) % 100}`,
        time,
        uid: c.uid,
        user: 'admin',
      };
  }
}

/** a failed local login (T1000W) */
export function failedLogin(c: EventContext, user: string, addrHash = c.h): Json {
  return {
    'addr.remote': remoteAddr(addrHash),
    cluster_name: c.cluster,
    code: 'T1000W',
    ei: 0,
    error: 'invalid credentials',
    event: 'user.login',
    method: 'local',
    success: false,
    time: iso(c.timeMs),
    uid: c.uid,
    user,
    user_agent: pick(USER_AGENTS, c.h >>> 11),
  };
}

/** one recorded ssh session: who, where, when, and how many recording events */
export interface SessionSpec {
  sid: string;
  cluster: string;
  h: number;
  startMs: number;
  endMs: number;
  startUid: string;
  endUid: string;
  uploadUid: string;
  /** events in the recording, session.start and session.end included (>= 2) */
  length: number;
}

function sessionCommon(s: SessionSpec) {
  const user = pick(USERS, s.h >>> 3);
  const node = pick(NODES, s.h >>> 7);
  return { user: user.name, login: pick(user.logins, s.h >>> 11), node };
}

export function sessionStart(s: SessionSpec): Json {
  const { user, login, node } = sessionCommon(s);
  return {
    'addr.local': node.addr,
    'addr.remote': remoteAddr(s.h),
    cluster_name: s.cluster,
    code: 'T2000I',
    ei: 0,
    event: 'session.start',
    login,
    namespace: 'default',
    proto: 'ssh',
    server_hostname: node.hostname,
    server_id: node.id,
    session_recording: 'node',
    sid: s.sid,
    size: '80:25',
    time: iso(s.startMs),
    uid: s.startUid,
    user,
  };
}

export function sessionEnd(s: SessionSpec): Json {
  const { user, login, node } = sessionCommon(s);
  return {
    cluster_name: s.cluster,
    code: 'T2004I',
    ei: s.length - 1,
    enhanced_recording: false,
    event: 'session.end',
    interactive: true,
    login,
    namespace: 'default',
    participants: [user],
    proto: 'ssh',
    server_hostname: node.hostname,
    server_id: node.id,
    session_recording: 'node',
    session_start: iso(s.startMs),
    session_stop: iso(s.endMs),
    sid: s.sid,
    time: iso(s.endMs),
    uid: s.endUid,
    user,
  };
}

export function sessionUpload(s: SessionSpec, timeMs: number): Json {
  return {
    cluster_name: s.cluster,
    code: 'T2005I',
    ei: 2147483647,
    event: 'session.upload',
    sid: s.sid,
    time: iso(timeMs),
    uid: s.uploadUid,
    url: `s3://teleport-recordings/records/${s.sid}.tar`,
  };
}

// a terminal session's output, replayed in a cycle by the print events
const LINES = [
  '$ ',
  'ls -la\r\n',
  'total 48\r\ndrwxr-xr-x  5 root root 4096 Nov 20 10:00 .\r\ndrwxr-xr-x 19 root root 4096 Nov 19 08:12 ..\r\n',
  '$ ',
  'sudo systemctl status nginx\r\n',
  '\u001b[0;1;32m●\u001b[0m nginx.service - A high performance web server\r\n     Active: active (running) since Thu 2026-11-19\r\n',
  '$ ',
  'tail -n 3 /var/log/syslog\r\n',
  'Nov 20 10:00:01 node-1 CRON[2211]: (root) CMD (run-parts /etc/cron.hourly)\r\n',
  '$ ',
  'exit\r\n',
  'logout\r\n',
];
const LINE_DATA = LINES.map((l) => Buffer.from(l, 'utf8').toString('base64'));
const LINE_BYTES = LINES.map((l) => Buffer.byteLength(l, 'utf8'));
const LINE_OFFSETS = LINE_BYTES.reduce<number[]>(
  (acc, _b, i) => [...acc, i === 0 ? 0 : acc[i - 1]! + LINE_BYTES[i - 1]!],
  [],
);
const CYCLE_BYTES = LINE_BYTES.reduce((a, b) => a + b, 0);
/** every RESIZE_EVERY-th recording index (other than the first and last) is a resize, the rest are prints */
const RESIZE_EVERY = 64;

/** the time of recording event `i`: spread evenly from session.start to session.end */
export function recordingTime(s: SessionSpec, i: number): number {
  return s.startMs + Math.floor((i * (s.endMs - s.startMs)) / Math.max(1, s.length - 1));
}

/** recording event `i` (0 <= i < length) of a session: session.start, prints and resizes, session.end */
export function recordingEvent(s: SessionSpec, i: number): Json {
  if (i === 0) return sessionStart(s);
  if (i === s.length - 1) return sessionEnd(s);
  const timeMs = recordingTime(s, i);
  if (i % RESIZE_EVERY === 0) {
    const { user, login, node } = sessionCommon(s);
    return {
      cluster_name: s.cluster,
      code: 'T2002I',
      ei: i,
      event: 'resize',
      login,
      namespace: 'default',
      server_id: node.id,
      sid: s.sid,
      size: pick(SIZES, i / RESIZE_EVERY),
      time: iso(timeMs),
      uid: fakeUuid(s.h, 0xfff9, i),
      user,
    };
  }
  const ci = i - 1 - Math.floor((i - 1) / RESIZE_EVERY);
  const line = ci % LINES.length;
  return {
    ei: i,
    event: 'print',
    time: iso(timeMs),
    ci,
    bytes: LINE_BYTES[line],
    ms: timeMs - s.startMs,
    offset: Math.floor(ci / LINES.length) * CYCLE_BYTES + LINE_OFFSETS[line]!,
    data: LINE_DATA[line],
  };
}

/** the type of recording event `i`, without building it */
export function recordingType(s: SessionSpec, i: number): string {
  if (i === 0) return 'session.start';
  if (i === s.length - 1) return 'session.end';
  return i % RESIZE_EVERY === 0 ? 'resize' : 'print';
}
