// an identity that expired before the poller starts: with refresh off a config error (start throws, the cli exits
// 2); with refresh on the poller runs, calls nothing, shows the expiry in its status and proceeds once the file is
// renewed; exit-on-last-event gives up on it like on any other permanent problem.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { TeleportAccessError, TlsFileError } from '../../../src/errors.js';
import { formatIdentityFile } from '../../../src/sources/teleport/identity.js';
import {
  assertExactlyOnce,
  auditIds,
  bigDataset,
  datasetIds,
  drain,
  recordingKeys,
  sessionKeys,
  trackedEnvs,
  until,
  within,
  writeIdentity,
  type Env,
} from './harness.js';

const env = trackedEnvs(after);
const HOUR = 3600_000;

function writeExpired(e: Env): void {
  const { cert, key } = e.fake.issueClientCert({
    user: 'bot-old',
    notBefore: new Date(Date.now() - 10 * HOUR),
    ttlHours: 1,
  });
  fs.writeFileSync(e.identityFile, formatIdentityFile({ key, cert, cas: [e.fake.ca] }), { mode: 0o600 });
}

const calls = (e: Env) => Object.values(e.fake.calls).reduce((n, c) => n + c.count, 0);

test('refresh off: an expired identity at start is a config error naming the file and expiry', async () => {
  const e = await env({ dataset: bigDataset() });
  writeExpired(e);
  const source = e.source({ refreshEnabled: false });
  await assert.rejects(source.start(), (err: unknown) => {
    assert.ok(err instanceof TlsFileError);
    assert.ok(err.message.includes(e.identityFile), err.message);
    assert.match(err.message, /expired at \d{4}-.*; renew it/);
    return true;
  });
});

test('refresh on: an expired identity at start is waited out; status says why; the renewed file is used and nothing is lost', async () => {
  const e = await env({ dataset: bigDataset() });
  writeExpired(e);
  const source = e.source({ refreshEnabled: true, refreshIntervalMs: 50, exitOnLastEvent: false });
  await source.start();
  const st = source.status();
  assert.equal(st.state, 'running');
  assert.ok(st.failingSince !== null, 'failing since the start');
  assert.match(
    st.lastError ?? '',
    new RegExp(`^the identity in ${e.identityFile} expired at \\d{4}-.*waiting for the file to be renewed \\(tbot`),
  );
  assert.equal(st.identity?.user, 'bot-old');
  // a few refresh intervals: the same expired file read again is not logged again, and nothing is called with it
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(calls(e), 0, 'no call with an expired certificate');
  const errors = e.logs.lines.filter((l) => l.level === 50);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.match(String(errors[0]!.msg), /expired at .*waits for the file to be renewed \(tbot\)/);
  assert.equal(errors[0]!.file, e.identityFile);
  assert.ok(!e.logs.has(/identity refresh failed/), 'the file in use read again is not a refresh failure');

  writeIdentity(e.fake, e.identityFile, 'bot-renewed');
  await until(() => source.status().caughtUp, 15_000, 'caught up with the renewed identity');
  const after = source.status();
  assert.equal(after.failingSince, null);
  assert.equal(after.lastError, null);
  assert.equal(after.identity?.user, 'bot-renewed');
  assert.equal(e.fake.calls.GetEventExportChunks!.last!.user, 'bot-renewed');
  const total = datasetIds(e.fake.dataset).length + recordingKeys(e.fake.dataset).length;
  await until(() => e.spool.stats().records >= total, 15_000, 'recordings shipped too');
  await source.stop();
  const records = await drain(e.spool);
  assertExactlyOnce(auditIds(records), datasetIds(e.fake.dataset), 'audit events');
  assertExactlyOnce(sessionKeys(records), recordingKeys(e.fake.dataset), 'session events');
});

test('refresh on, exit-on-last-event: an identity that stays expired fails the run after its cycles instead of waiting forever', async () => {
  const e = await env({ dataset: bigDataset() });
  writeExpired(e);
  const source = e.source({ refreshEnabled: true, refreshIntervalMs: 50, exitOnLastEvent: true, retryMaxMs: 200 });
  await source.start();
  await assert.rejects(within(source.done, 15_000, 'give up'), (err: unknown) => {
    assert.ok(err instanceof TeleportAccessError, String(err));
    assert.match(err.message, /the identity in .* expired at .* times in a row/);
    return true;
  });
  assert.equal(source.status().state, 'failed');
  assert.equal(calls(e), 0);
  await source.stop();
});

test('stop while waiting for a renewed identity returns at once, with nothing read', async () => {
  const e = await env({ dataset: bigDataset() });
  writeExpired(e);
  const source = e.source({ refreshEnabled: true, refreshIntervalMs: 60_000, exitOnLastEvent: false });
  await source.start();
  await within(source.stop(), 5_000, 'stop');
  assert.equal(source.status().state, 'stopped');
  assert.equal((await drain(e.spool)).length, 0);
});
