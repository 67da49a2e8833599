// what a failed call to the auth service is called, whether waiting fixes it, and what the user is told to do:
// the pure classification over grpc errors as grpc-js reports them, and the give-up rule of exit-on-last-event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import {
  FailureLog,
  PERMANENT_GIVE_UP,
  PROBLEM_LOG_INTERVAL_MS,
  PermanentFailures,
  cleanDetails,
  expiredIdentity,
  explainTeleportError,
  explainedText,
  type ExplainContext,
} from '../../../src/sources/teleport/explain.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const ctx = (o: Partial<ExplainContext> = {}): ExplainContext => ({
  addr: 'auth.example.com:3025',
  serverName: 'teleport.cluster.local',
  identity: { file: '/var/lib/tdf/identity', user: 'forwarder', notAfter: new Date(NOW + 3600_000) },
  now: NOW,
  ...o,
});
const grpcError = (code: number, details: string) =>
  Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details });
const noConnection = (last: string) =>
  grpcError(status.UNAVAILABLE, `No connection established. Last error: ${last}. Resolution note: `);

test('PERMISSION_DENIED names the rule the call needs and the role file', () => {
  const err = grpcError(status.PERMISSION_DENIED, 'access denied to perform action "list" on "event"');
  const events = explainTeleportError(err, 'events', ctx());
  assert.equal(events.problem, 'access');
  assert.equal(events.permanent, true);
  assert.equal(events.summary, 'teleport denied "forwarder" access to the audit log');
  assert.match(
    events.hint!,
    /^its role needs `event` list, read \(the role in teleport-datadog-forwarder-role\.yaml.* has them\); a locked user is refused the same way$/,
  );
  assert.equal(events.err, 'PERMISSION_DENIED: access denied to perform action "list" on "event"');
  assert.match(explainTeleportError(err, 'sessions', ctx()).hint!, /`session` list, read/);
  assert.match(explainTeleportError(err, 'lock', ctx()).hint!, /`lock` create, update/);
  assert.match(explainTeleportError(err, 'events', ctx({ identity: undefined })).summary, /denied the identity access/);
});

test('our side refusing the server certificate is "untrusted", whatever the reason node gives', () => {
  for (const last of [
    'Error: self-signed certificate in certificate chain',
    'Error: unable to get local issuer certificate',
    'Error: certificate has expired',
    "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: x. is not in the cert's altnames: DNS:y",
  ]) {
    const x = explainTeleportError(noConnection(last), 'events', ctx());
    assert.equal(x.problem, 'untrusted', last);
    assert.equal(x.permanent, true);
    assert.match(x.summary, /does not trust the certificate of auth\.example\.com:3025/);
    assert.match(x.hint!, /must name teleport\.cluster\.local/);
    assert.doesNotMatch(x.err, /Resolution note|Error( \[\w+\])?: /, 'grpc-js boilerplate is cut');
  }
});

test('a TLS alert refusing our certificate is permanent; a connection cut at the handshake without one is passing, with a hint', () => {
  // as node reports an alert from a go or openssl server (tls 1.2 and 1.3), openssl's source location and all
  const text =
    'Error: 809CA57B577F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 48\n';
  const alert = explainTeleportError(noConnection(text), 'events', ctx());
  assert.deepEqual([alert.problem, alert.permanent], ['refused', true]);
  assert.equal(
    alert.summary,
    'auth.example.com:3025 refused the client certificate in /var/lib/tdf/identity (tlsv1 alert unknown ca)',
  );
  assert.equal(
    alert.err,
    'UNAVAILABLE: No connection established. last error: tlsv1 alert unknown ca',
    'openssl internals are cut',
  );
  assert.equal(
    explainTeleportError(noConnection('Error: sslv3 alert bad certificate'), 'events', ctx()).problem,
    'refused',
  );

  // what node says when the server hangs up at the handshake: a refused certificate, or an auth service going away
  for (const last of [
    'Error: Client network socket disconnected before secure TLS connection was established',
    'Error: connection closed during the TLS handshake',
    'Failed to connect (2026-11-22T11:59:59.000Z)',
  ]) {
    const x = explainTeleportError(noConnection(last), 'events', ctx());
    assert.deepEqual([x.problem, x.permanent], ['unreachable', false], last);
    assert.equal(x.summary, 'auth.example.com:3025 ended the connection at the TLS handshake');
    assert.match(
      x.hint!,
      /restarting .* does not accept the client certificate in \/var\/lib\/tdf\/identity .*: if it lasts, sign the identity on this cluster/,
    );
    assert.match(explainedText(x), /: an auth service restarting does this/, 'status carries the hint');
  }
});

test('a server certificate not valid yet is about clocks, not the CA', () => {
  const x = explainTeleportError(noConnection('Error: certificate is not yet valid'), 'events', ctx());
  assert.deepEqual([x.problem, x.permanent], ['untrusted', true]);
  assert.match(x.hint!, /clocks/);
});

test('an expired identity is named with its file and expiry, whatever the connection says', () => {
  const c = ctx({ identity: { file: '/id', user: 'forwarder', notAfter: new Date(NOW - 60_000) } });
  for (const err of [
    noConnection('Failed to connect (x)'),
    noConnection('Error: sslv3 alert certificate expired'),
    grpcError(status.UNAUTHENTICATED, 'expired certificate'),
  ]) {
    const x = explainTeleportError(err, 'events', c);
    assert.equal(x.problem, 'expired');
    assert.equal(x.summary, `the identity in /id expired at ${new Date(NOW - 60_000).toISOString()}`);
    assert.match(x.hint!, /teleport\.refresh\.enabled/);
  }
  // with refresh on, the hint says the file is waited for, and how often it is read
  const refreshing = explainTeleportError(noConnection('Failed to connect (x)'), 'events', { ...c, refreshMs: 60_000 });
  assert.equal(refreshing.problem, 'expired');
  assert.equal(
    refreshing.hint,
    'waiting for the file to be renewed (tbot rewrites it; it is read again every 60 s), or sign it again: tctl auth sign',
  );
  // before any call (expired at start): the same words, with the time it was found expired
  const before = expiredIdentity({ ...c, identity: c.identity!, refreshMs: 1_000 });
  assert.deepEqual([before.problem, before.permanent, before.summary], ['expired', true, refreshing.summary]);
  assert.equal(
    explainedText(before),
    `${refreshing.summary} (now ${new Date(NOW).toISOString()}): waiting for the file to be renewed (tbot rewrites it; it is read again every 1 s), or sign it again: tctl auth sign`,
  );
  // still valid: UNAUTHENTICATED is the identity, not its age
  assert.equal(
    explainTeleportError(grpcError(status.UNAUTHENTICATED, 'bad token'), 'events', ctx()).problem,
    'identity',
  );
});

test('network trouble is passing: unreachable, with a hint only when the address may be wrong', () => {
  const refused = explainTeleportError(noConnection('Error: connect ECONNREFUSED 10.0.0.1:3025'), 'events', ctx());
  assert.deepEqual([refused.problem, refused.permanent], ['unreachable', false]);
  assert.match(refused.hint!, /check teleport\.addr \(auth\.example\.com:3025\)/);
  const dns = explainTeleportError(
    grpcError(status.UNAVAILABLE, 'Name resolution failed for target dns:nope.invalid:3025'),
    'events',
    ctx(),
  );
  assert.equal(dns.problem, 'unreachable');
  // a stream cut by a restarting auth service: nothing to check
  const cut = explainTeleportError(grpcError(status.UNAVAILABLE, 'Connection dropped'), 'events', ctx());
  assert.deepEqual([cut.problem, cut.hint], ['unreachable', undefined]);
  assert.equal(
    explainTeleportError(grpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), 'events', ctx()).permanent,
    false,
  );
  const internal = explainTeleportError(grpcError(status.INTERNAL, 'backend read failed'), 'events', ctx());
  assert.deepEqual(
    [internal.problem, internal.permanent, internal.summary],
    ['other', false, 'teleport answered INTERNAL'],
  );
  // not a grpc error at all (ours): not called a network problem
  assert.equal(explainTeleportError(new Error('spool write failed'), 'events', ctx()).problem, 'other');
});

test('a port that answers the TLS handshake in plain text is "not-tls": permanent, with the port to check', () => {
  for (const last of [
    'Error: 80CCABC8357F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n',
    'Error: 80CCABC8357F0000:error:0A0000C6:SSL routines:tls_get_more_records:packet length too long:../deps/openssl/openssl/ssl/record/methods/tls_common.c:662:\n',
  ]) {
    const x = explainTeleportError(noConnection(last), 'events', ctx());
    assert.deepEqual([x.problem, x.permanent], ['not-tls', true], last);
    assert.equal(
      x.summary,
      'this port does not speak TLS: auth.example.com:3025 answered the TLS handshake with something else',
    );
    assert.match(x.hint!, /^check teleport\.addr: it must be the Auth Service \(:3025\) or the Proxy/);
    assert.doesNotMatch(x.err, /SSL routines|deps\/openssl|0A0000/, 'openssl internals are cut');
  }
});

test('explainedText carries what to do when there is something: a permanent problem, or an address to check', () => {
  const denied = explainTeleportError(grpcError(status.PERMISSION_DENIED, 'no'), 'events', ctx());
  assert.match(
    explainedText(denied),
    /^teleport denied "forwarder" access to the audit log \(PERMISSION_DENIED: no\): its role needs/,
  );
  const down = explainTeleportError(noConnection('Error: connect ECONNREFUSED 10.0.0.1:3025'), 'events', ctx());
  assert.equal(
    explainedText(down),
    `teleport auth service unreachable (${down.err}): check teleport.addr (auth.example.com:3025) and that this host may reach it`,
  );
  const cut = explainTeleportError(grpcError(status.UNAVAILABLE, 'Connection dropped'), 'events', ctx());
  assert.equal(explainedText(cut), 'UNAVAILABLE: Connection dropped');
  const internal = explainTeleportError(grpcError(status.INTERNAL, 'backend read failed'), 'events', ctx());
  assert.equal(explainedText(internal), 'INTERNAL: backend read failed');
  assert.equal(cleanDetails(noConnection('Error: x')), 'UNAVAILABLE: No connection established. last error: x');
  assert.equal(
    cleanDetails(noConnection('Failed to connect (2026-11-22T11:59:59.000Z)')),
    'UNAVAILABLE: No connection established. last error: failed to connect',
  );
});

test('exit-on-last-event gives up after three permanent failures in a row spanning the longest backoff; anything else resets the count', () => {
  const denied = explainTeleportError(grpcError(status.PERMISSION_DENIED, 'no'), 'events', ctx());
  const down = explainTeleportError(noConnection('Error: connect ECONNREFUSED 10.0.0.1:3025'), 'events', ctx());
  let now = 0;
  const p = new PermanentFailures(true, 30_000, () => now);
  const cycle = (x: typeof denied) => {
    now += 10_000;
    p.failed(x);
  };
  for (let i = 1; i < PERMANENT_GIVE_UP; i++) cycle(denied);
  cycle(down);
  for (let i = 1; i < PERMANENT_GIVE_UP; i++) cycle(denied);
  p.succeeded();
  // three in a row, but within a moment (one broken connection failing several calls): not yet
  for (let i = 0; i < 5; i++) p.failed(denied);
  now += 29_999;
  p.failed(denied);
  now += 1;
  assert.throws(
    () => p.failed(denied),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TDF_TELEPORT_ACCESS');
      assert.match(
        err.message,
        /^teleport denied "forwarder" access to the audit log \(PERMISSION_DENIED: no\), 7 times in a row: its role needs/,
      );
      return true;
    },
  );
  // a long-running poller never gives up: a fixed role or a renewed identity works without a restart
  const forever = new PermanentFailures(false, 0, () => (now += 60_000));
  for (let i = 0; i < 10 * PERMANENT_GIVE_UP; i++) forever.failed(denied);
});

test('failure log: a permanent problem is an error with its hint when new or every few minutes; the rest are warnings', () => {
  const lines: Array<{ level: string; o: Record<string, unknown>; msg: string }> = [];
  const logger = {
    error: (o: Record<string, unknown>, msg: string) => lines.push({ level: 'error', o, msg }),
    warn: (o: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', o, msg }),
  } as unknown as import('pino').Logger;
  let now = 0;
  const log = new FailureLog(logger, () => now);
  const denied = explainTeleportError(grpcError(status.PERMISSION_DENIED, 'no'), 'sessions', ctx());
  for (let i = 0; i < 50; i++) log.failed(denied, { sid: `s${i}` }, 'teleport session recording failed; will retry');
  assert.deepEqual(
    lines.map((l) => l.level),
    ['error', ...Array(49).fill('warn')],
  );
  assert.equal(lines[0]!.msg, 'teleport denied "forwarder" access to session recordings; retrying');
  assert.match(String(lines[0]!.o.hint), /`session` list, read/);
  assert.deepEqual(
    [lines[1]!.msg, lines[1]!.o.sid, lines[1]!.o.hint],
    ['teleport session recording failed; will retry', 's1', undefined],
  );
  now += PROBLEM_LOG_INTERVAL_MS;
  log.failed(denied, {}, 'x');
  assert.equal(lines.at(-1)!.level, 'error', 'said again after the interval');
  log.succeeded();
  log.failed(denied, {}, 'x');
  assert.equal(lines.at(-1)!.level, 'error', 'and after a success');
  const down = explainTeleportError(noConnection('Error: connect ECONNREFUSED 10.0.0.1:3025'), 'events', ctx());
  log.failed(down, { date: 'd' }, 'listing failed; retrying');
  assert.deepEqual([lines.at(-1)!.level, lines.at(-1)!.msg], ['warn', 'listing failed; retrying']);
  assert.match(String(lines.at(-1)!.o.hint), /check teleport\.addr/);
});

test('a proxy with no route for what we offered (no_application_protocol) is a routing problem: set teleport.mode, or the cluster name', () => {
  const err = noConnection(
    'Error: C0:error:0A000460:SSL routines:ssl3_read_bytes:tlsv1 alert no application protocol:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1590:SSL alert number 120',
  );
  const direct = explainTeleportError(err, 'events', ctx({ addr: 'tele.example.com:8443', route: { mode: 'direct' } }));
  assert.equal(direct.problem, 'route');
  assert.equal(direct.permanent, true);
  assert.match(direct.summary, /^tele\.example\.com:8443 routes connections by ALPN, like a Teleport Proxy/);
  assert.match(direct.hint!, /set teleport\.mode = "proxy"/);
  const proxy = explainTeleportError(
    err,
    'events',
    ctx({ addr: 'tele.example.com:443', route: { mode: 'proxy', cluster: 'leaf.example.com' } }),
  );
  assert.equal(proxy.summary, 'tele.example.com:443 has no route to the auth service of cluster leaf.example.com');
  assert.match(proxy.hint!, /teleport\.cluster-name/);
  // a refused certificate is still one
  assert.equal(
    explainTeleportError(noConnection('Error: tlsv1 alert unknown ca'), 'events', ctx({ route: { mode: 'direct' } }))
      .problem,
    'refused',
  );
});
