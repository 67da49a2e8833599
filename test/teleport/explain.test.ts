// what a failed call to the auth service is called, whether waiting fixes it, and what the user is told to do:
// the pure classification over grpc errors as grpc-js reports them, and the give-up rule of exit-on-last-event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { PERMANENT_GIVE_UP, PermanentFailures, cleanDetails, explainTeleportError, explainedText, type ExplainContext } from '../../src/sources/teleport/explain.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const ctx = (o: Partial<ExplainContext> = {}): ExplainContext => ({
  addr: 'auth.example.com:3025',
  serverName: 'teleport.cluster.local',
  identity: { file: '/var/lib/tdf/identity', user: 'forwarder', notAfter: new Date(NOW + 3600_000) },
  now: NOW,
  ...o,
});
const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details });
const noConnection = (last: string) => grpcError(status.UNAVAILABLE, `No connection established. Last error: ${last}. Resolution note: `);

test('PERMISSION_DENIED names the rule the call needs and the role file', () => {
  const err = grpcError(status.PERMISSION_DENIED, 'access denied to perform action "list" on "event"');
  const events = explainTeleportError(err, 'events', ctx());
  assert.equal(events.problem, 'access');
  assert.equal(events.permanent, true);
  assert.equal(events.summary, 'teleport denied "forwarder" access to the audit log');
  assert.match(events.hint!, /`event` list, read: give it the role in teleport-datadog-forwarder-role\.yaml/);
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

test('the server refusing our certificate: a tls alert, a close during the handshake, or a recent refusal behind "Failed to connect"', () => {
  const alert = explainTeleportError(noConnection('Error: error:0A000418:SSL routines::tlsv1 alert unknown ca'), 'events', ctx());
  assert.equal(alert.problem, 'refused');
  assert.match(alert.summary, /refused the TLS connection \(tlsv1 alert unknown ca\): it does not accept the client certificate in \/var\/lib\/tdf\/identity/);

  const during = explainTeleportError(noConnection('Error: connection closed during the TLS handshake'), 'events', ctx());
  assert.equal(during.problem, 'refused');

  const failed = noConnection('Failed to connect (2026-11-22T11:59:59.000Z)');
  const recent = explainTeleportError(failed, 'events', ctx({ refusal: { at: NOW - 1000, reason: 'closed right after the handshake' } }));
  assert.equal(recent.problem, 'refused');
  assert.match(recent.summary, /\(closed right after the handshake\)/);
  // an old refusal says nothing about this failure; without one it is just unreachable
  assert.equal(explainTeleportError(failed, 'events', ctx({ refusal: { at: NOW - 3600_000, reason: 'x' } })).problem, 'unreachable');
  assert.equal(explainTeleportError(failed, 'events', ctx()).problem, 'unreachable');
});

test('an expired identity is named with its file and expiry, whatever the connection says', () => {
  const c = ctx({ identity: { file: '/id', user: 'forwarder', notAfter: new Date(NOW - 60_000) } });
  for (const err of [noConnection('Failed to connect (x)'), grpcError(status.UNAUTHENTICATED, 'expired certificate')]) {
    const x = explainTeleportError(err, 'events', c);
    assert.equal(x.problem, 'expired');
    assert.equal(x.summary, `the identity in /id expired at ${new Date(NOW - 60_000).toISOString()}`);
    assert.match(x.hint!, /teleport\.refresh\.enabled/);
  }
  // still valid: UNAUTHENTICATED is the identity, not its age
  assert.equal(explainTeleportError(grpcError(status.UNAUTHENTICATED, 'bad token'), 'events', ctx()).problem, 'identity');
});

test('network trouble is passing: unreachable, with a hint only when the address may be wrong', () => {
  const refused = explainTeleportError(noConnection('Error: connect ECONNREFUSED 10.0.0.1:3025'), 'events', ctx());
  assert.deepEqual([refused.problem, refused.permanent], ['unreachable', false]);
  assert.match(refused.hint!, /check teleport\.addr \(auth\.example\.com:3025\)/);
  const dns = explainTeleportError(grpcError(status.UNAVAILABLE, 'Name resolution failed for target dns:nope.invalid:3025'), 'events', ctx());
  assert.equal(dns.problem, 'unreachable');
  // a stream cut by a restarting auth service: nothing to check
  const cut = explainTeleportError(grpcError(status.UNAVAILABLE, 'Connection dropped'), 'events', ctx());
  assert.deepEqual([cut.problem, cut.hint], ['unreachable', undefined]);
  assert.equal(explainTeleportError(grpcError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), 'events', ctx()).permanent, false);
  const internal = explainTeleportError(grpcError(status.INTERNAL, 'backend read failed'), 'events', ctx());
  assert.deepEqual([internal.problem, internal.permanent, internal.summary], ['other', false, 'teleport answered INTERNAL']);
  // not a grpc error at all (ours): not called a network problem
  assert.equal(explainTeleportError(new Error('spool write failed'), 'events', ctx()).problem, 'other');
});

test('explainedText carries the hint only for a problem waiting will not fix', () => {
  const denied = explainTeleportError(grpcError(status.PERMISSION_DENIED, 'no'), 'events', ctx());
  assert.match(explainedText(denied), /^teleport denied "forwarder" access to the audit log \(PERMISSION_DENIED: no\): its role needs/);
  const down = explainTeleportError(noConnection('Error: connect ECONNREFUSED 10.0.0.1:3025'), 'events', ctx());
  assert.equal(explainedText(down), down.err);
  assert.equal(cleanDetails(noConnection('Error: x')), 'UNAVAILABLE: No connection established. last error: x');
  assert.equal(cleanDetails(noConnection('Failed to connect (2026-11-22T11:59:59.000Z)')), 'UNAVAILABLE: No connection established. last error: failed to connect');
});

test('exit-on-last-event gives up on the third permanent failure in a row; anything else resets the count', () => {
  const denied = explainTeleportError(grpcError(status.PERMISSION_DENIED, 'no'), 'events', ctx());
  const down = explainTeleportError(noConnection('Error: connect ECONNREFUSED 10.0.0.1:3025'), 'events', ctx());
  const p = new PermanentFailures(true);
  for (let i = 1; i < PERMANENT_GIVE_UP; i++) p.failed(denied);
  p.failed(down);
  for (let i = 1; i < PERMANENT_GIVE_UP; i++) p.failed(denied);
  p.succeeded();
  for (let i = 1; i < PERMANENT_GIVE_UP; i++) p.failed(denied);
  assert.throws(() => p.failed(denied), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TDF_TELEPORT_ACCESS');
    assert.match(err.message, /^teleport denied "forwarder" access to the audit log \(PERMISSION_DENIED: no\), 3 times in a row: its role needs/);
    return true;
  });
  // a long-running poller never gives up: a fixed role or a renewed identity works without a restart
  const forever = new PermanentFailures(false);
  for (let i = 0; i < 10 * PERMANENT_GIVE_UP; i++) forever.failed(denied);
});
