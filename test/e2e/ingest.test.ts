// end to end, as a user runs it: the cli with a TOML file and generated mTLS certs, a client posting like
// teleport-event-handler, and a local Datadog-compatible intake that records what it received.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeTlsFiles } from '../helpers/mtls.js';
import { startIngestE2e, writeIngestConfig, waitFor } from '../helpers/forwarder.js';
import { fixture } from '../helpers/paths.js';

const API_KEY = 'e2e0123456789abcdef0123456789abc';

function configToml(dir: string, tls: ReturnType<typeof writeTlsFiles>, intakeUrl: string): string {
  return writeIngestConfig(dir, tls, intakeUrl, {
    top: 'hostname = "e2e-host"',
    extra: `timeout = "5s"

[[match]]
pattern = "test.log events.log"
source = "teleport"
service = "teleport-audit"
tags = ["env:test"]

[[match]]
pattern = "session.*.log"
source = "teleport"
service = "teleport-sessions"
include-tag-key = true`,
  });
}

/** the forwarder started through the cli with configToml, the local intake, and a client posting to it */
async function setup(t: import('node:test').TestContext) {
  const { intake, client } = await startIngestE2e(t, API_KEY, configToml);
  return { intake, client };
}

test('events posted like teleport-event-handler reach the intake, mapped by the match rules', async (t) => {
  const { intake, client } = await setup(t);

  const events = readFileSync(fixture('events', 'sample.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  assert.ok(events.length >= 5);
  for (const ev of events) {
    const path = ev.event === 'print' ? '/session.8d57a9d5-3848-5ce2-a326-85eb4a6d2eed.log' : '/test.log';
    const res = await client.post(path, JSON.stringify(ev));
    assert.equal(res.status, 200, res.body);
    assert.equal(res.body, '', 'the Go client treats any body as fine, but fluentd sends none: neither do we');
  }
  // an event posted as one compact object goes to datadog as it came: a number past 2^53 keeps its digits
  const big = { event: 'app.custom', code: 'T9999I', uid: 'u-big', n: 1, time: new Date().toISOString() };
  const bigText = JSON.stringify(big).replace('"n":1', '"n":12345678901234567891');
  assert.equal((await client.post('/test.log', bigText)).status, 200);
  events.push(big);
  // a malformed request: 400 that says why, nothing kept
  const bad = await client.post('/test.log', '{"event": ');
  assert.equal(bad.status, 400);
  assert.match(bad.body, /400 Bad Request\n.*JSON/i);
  // GET on any path: 200, like fluentd (health probes)
  await waitFor(() => intake.logs.length >= events.length, 'all events at the intake');
  assert.equal(intake.logs.length, events.length, 'nothing extra (the bad request kept nothing)');

  const login = intake.logs.find((l: any) => l.event === 'user.login' && l.success === false) as any;
  assert.ok(login, 'failed login delivered');
  assert.equal(login.ddsource, 'teleport');
  assert.equal(login.service, 'teleport-audit');
  assert.equal(login.ddtags, 'env:test');
  assert.equal(login.hostname, 'e2e-host');
  assert.equal(login.status, 'warn', 'code T1000W ends in W');
  // the fixture events are from 2024, past Datadog's 18 h window: the default policy restamps them
  assert.equal(login.original_timestamp, new Date(login.time).toISOString());
  assert.ok(Date.now() - Date.parse(login['@timestamp']) < 3_600_000, 'restamped to about now');
  const print = intake.logs.find((l: any) => l.event === 'print') as any;
  if (print) {
    assert.equal(print.service, 'teleport-sessions');
    assert.equal(print.tag, 'session.8d57a9d5-3848-5ce2-a326-85eb4a6d2eed.log');
  }
  // every uid exactly once
  const uids = events
    .filter((e) => e.uid)
    .map((e) => e.uid)
    .sort();
  const got = intake.logs
    .filter((l: any) => l.uid)
    .map((l: any) => l.uid)
    .sort();
  assert.deepEqual(got, uids);
  assert.ok(
    intake.bodies.some((b) => b.includes(bigText.slice(0, -1) + ',"ddsource":"teleport"')),
    'the text as posted',
  );
});

test('an intake outage, a 500 storm and 429s lose nothing and duplicate nothing', async (t) => {
  const { intake, client } = await setup(t);

  await intake.setDown(true);
  const post = async (i: number) => {
    const res = await client.post(
      '/test.log',
      JSON.stringify({ event: 'user.login', code: 'T1000I', uid: `u-${i}`, time: new Date().toISOString() }),
    );
    assert.equal(res.status, 200, res.body);
  };
  // accepted while the intake is down: durable in the spool, acknowledged 200
  await Promise.all(Array.from({ length: 200 }, (_, i) => post(i)));
  await intake.setDown(false);
  intake.inject({ status: 500, times: 3 });
  intake.inject({ status: 429, times: 2, headers: { 'x-ratelimit-reset': '1', 'x-ratelimit-period': '10' } });
  await Promise.all(Array.from({ length: 200 }, (_, i) => post(200 + i)));
  await waitFor(() => intake.logs.length >= 400, '400 logs at the intake');
  const ids = intake.logs.map((l: any) => l.uid);
  assert.equal(new Set(ids).size, 400, 'no duplicates');
  assert.equal(ids.length, 400);
});
