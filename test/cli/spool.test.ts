import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openSpool } from '../../src/spool/spool.js';
import type { Spool } from '../../src/spool/types.js';
import { createAdminServer } from '../../src/telemetry/admin.js';
import { healthReport, statusDoc, type StatusSources } from '../../src/telemetry/status.js';
import { formatDeadLetter, parseBefore, runSpool, type RunSpoolOptions } from '../../src/cli/spool.js';
import { compiled, repoRoot } from '../helpers/paths.js';
import { capture, silentLogger, tempDir, testConfig, waitFor } from '../telemetry/support.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const DAY = 86_400_000;

/** a stopped forwarder's storage: `old` dead letters from 10 days ago, `recent` from now, `queued` records */
async function storageWith(t: TestContext, counts: { old: number; recent: number; queued: number }): Promise<string> {
  const dir = tempDir('tdf-cli-spool-', t);
  let clock = Date.now() - 10 * DAY;
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1024 * 1024, now: () => clock });
  const dead = async (n: number, reason: string, status: number | null) => {
    if (n === 0) return;
    await spool.append(
      Array.from({ length: n }, (_, i) => JSON.stringify({ message: `${reason} ${i}`, pad: 'x'.repeat(300) })),
    );
    const taken = await spool.take(n, 1e7);
    await spool.deadLetter(taken, reason, status);
  };
  await dead(counts.old, 'HTTP 400: old refusal', 400);
  clock = Date.now();
  await dead(counts.recent, 'log is 6000000 bytes, over the limit\u001b[2J', null);
  if (counts.queued > 0)
    await spool.append(Array.from({ length: counts.queued }, (_, i) => JSON.stringify({ message: `queued ${i}` })));
  await spool.close();
  return dir;
}

function run(
  dir: string,
  o: Partial<RunSpoolOptions> & Pick<RunSpoolOptions, 'action'>,
  flags: Record<string, unknown> = { 'admin-enabled': false },
) {
  const out = capture();
  const done = runSpool({ dead: true, flags: { storage: dir, ...flags }, env: {}, out, ...o });
  return { out, done };
}

async function counts(dir: string): Promise<{ records: number; deadLetters: number }> {
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1024 * 1024 });
  try {
    const { records, deadLetters } = spool.stats();
    return { records, deadLetters };
  } finally {
    await spool.close();
  }
}

test('parseBefore: RFC 3339 times and ages counted back from now (pure)', () => {
  const now = Date.parse('2024-05-10T00:00:00Z');
  assert.equal(parseBefore('7d', now), Date.parse('2024-05-03T00:00:00Z'));
  assert.equal(parseBefore('2w', now), Date.parse('2024-04-26T00:00:00Z'));
  assert.equal(parseBefore('24h', now), Date.parse('2024-05-09T00:00:00Z'));
  assert.equal(parseBefore('1h30m', now), now - 90 * 60_000);
  assert.equal(parseBefore('0s', now), now);
  assert.equal(parseBefore('2024-05-01T12:00:00Z', now), Date.parse('2024-05-01T12:00:00Z'));
  assert.equal(parseBefore('2024-05-01T12:00:00+02:00', now), Date.parse('2024-05-01T10:00:00Z'));
  for (const bad of ['yesterday', '7 days', '2024-13-45T00:00:00Z', '-1d'])
    assert.throws(() => parseBefore(bad, now), { code: 'TDF_CONFIG' }, bad);
});

test('formatDeadLetter: key, time, status, reason and a short, escaped preview (pure)', () => {
  const text = formatDeadLetter({
    key: 'd!000000000001!0000000000000002',
    reason: 'HTTP 400: bad\nthing',
    status: 400,
    at: Date.parse('2024-05-01T00:00:00Z'),
    value: `{"message":"${'y'.repeat(500)}"}`,
  });
  const [first, second] = text.split('\n');
  assert.equal(
    first,
    'd!000000000001!0000000000000002  2024-05-01T00:00:00.000Z  status 400  HTTP 400: bad\\u000athing',
  );
  assert.ok(second!.startsWith('    {"message":"yyy'));
  assert.ok(second!.endsWith('…'));
  assert.ok(second!.length < 200);
});

test("stats, ls, replay and purge on a stopped forwarder's storage", async (t) => {
  const dir = await storageWith(t, { old: 3, recent: 2, queued: 4 });

  let r = run(dir, { action: 'stats', dead: false });
  assert.equal(await r.done, 0);
  assert.match(r.out.text(), /opened directly: the forwarder is not running/);
  assert.match(r.out.text(), /records: 4 \(/);
  assert.match(r.out.text(), /oldest: queued \d+ s ago/);
  assert.match(r.out.text(), /dead letters: 5/);
  assert.match(r.out.text(), /! 5 dead letters/);

  r = run(dir, { action: 'ls' });
  assert.equal(await r.done, 0);
  const lines = r.out.text().trim().split('\n');
  assert.equal(lines.length, 11, r.out.text());
  assert.match(lines[0]!, /^d!\S+ {2}\d{4}-\d\d-\d\dT\S+Z {2}status 400 {2}HTTP 400: old refusal$/);
  assert.match(lines[1]!, /^ {4}\{"message":"HTTP 400: old refusal 0","pad":"x+…$/);
  assert.match(lines[6]!, /status - {2}log is 6000000 bytes, over the limit\\u001b\[2J$/, 'control characters escaped');
  assert.equal(lines[10], '5 dead letters');

  r = run(dir, { action: 'ls', limit: 2 });
  await r.done;
  assert.match(r.out.text(), /showing the first 2; raise --limit/);
  const keys = [...r.out.text().matchAll(/^(d!\S+)/gm)].map((m) => m[1]!);
  assert.equal(keys.length, 2);

  // a key that is not a dead letter fails the command (exit 1), so a script notices a mistyped one
  r = run(dir, { action: 'replay', id: [keys[0]!, keys[0]!, 'd!nonexistent'] });
  assert.equal(await r.done, 1);
  assert.match(r.out.text(), /moved 1 dead letter back to the queue; they are delivered at the next start/);
  assert.match(r.out.text(), /^1 of the given keys is not a dead letter \(/m);
  assert.deepEqual(await counts(dir), { records: 5, deadLetters: 4 });

  r = run(dir, { action: 'replay', id: [keys[0]!, 'nope'] });
  assert.equal(await r.done, 1);
  assert.match(r.out.text(), /moved 0 dead letters back/);
  assert.match(r.out.text(), /^2 of the given keys are not dead letters \(/m);
  assert.deepEqual(await counts(dir), { records: 5, deadLetters: 4 });

  r = run(dir, { action: 'purge', before: '7d' });
  assert.equal(await r.done, 0);
  assert.match(r.out.text(), /purged 2 dead letters dead-lettered before \d{4}-/);
  assert.deepEqual(await counts(dir), { records: 5, deadLetters: 2 });

  r = run(dir, { action: 'replay' });
  assert.equal(await r.done, 0);
  assert.match(r.out.text(), /moved 2 dead letters back/);
  assert.deepEqual(await counts(dir), { records: 7, deadLetters: 0 });

  r = run(dir, { action: 'ls' });
  await r.done;
  assert.equal(r.out.text(), 'no dead letters\n');
});

test('usage errors are refused before the storage is touched', async (t) => {
  const dir = tempDir('tdf-telemetry-', t);
  const cases: Array<[Partial<RunSpoolOptions> & Pick<RunSpoolOptions, 'action'>, RegExp]> = [
    [{ action: 'ls', dead: false }, /spool ls works on dead letters: add --dead/],
    [{ action: 'purge' }, /needs --before/],
    [{ action: 'purge', before: 'last week' }, /--before: expected an RFC 3339 time/],
    [{ action: 'ls', before: '7d' }, /--before goes with/],
    [{ action: 'ls', id: ['k'] }, /--id goes with/],
    [{ action: 'ls', limit: 0 }, /--limit must be/],
  ];
  for (const [o, message] of cases) await assert.rejects(run(dir, o).done, message);
  await assert.rejects(
    run(join(dir, 'missing'), { action: 'stats', dead: false }).done,
    /there is no spool in .*missing/,
  );
});

test('refuses while another process (the forwarder) holds the storage', async (t) => {
  const dir = await storageWith(t, { old: 0, recent: 1, queued: 0 });
  const module = pathToFileURL(join(repoRoot, compiled ? 'dist/src/spool/spool.js' : 'src/spool/spool.ts')).href;
  const code = `
    const { openSpool } = await import(process.argv[1]);
    const spool = await openSpool({ path: process.argv[2], maxBytes: 1048576 });
    process.stdout.write('open\\n');
    process.stdin.on('end', async () => { await spool.close(); process.exit(0); });
    process.stdin.resume();`;
  const child = spawn(
    process.execPath,
    [...(compiled ? [] : ['--import', 'tsx']), '--input-type=module', '-e', code, module, dir],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise((r) => child.on('exit', r));
  t.after(async () => {
    child.stdin.end();
    await exited;
  });
  await waitFor(() => output.includes('open') || child.exitCode !== null, 'the child to open the spool', 30_000);
  assert.ok(output.includes('open'), output);

  for (const action of ['stats', 'ls', 'replay'] as const) {
    await assert.rejects(run(dir, { action }).done, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TDF_STORAGE');
      assert.match(
        err.message,
        new RegExp(`^the forwarder is running with storage ${dir}: stop it first, or use its admin API`),
      );
      assert.match(err.message, /admin API is disabled here/);
      return true;
    });
  }
  await assert.rejects(
    run(dir, { action: 'purge', before: '0s' }, { 'admin-port': 1 }).done,
    /the forwarder is running with storage .*its admin API at http:\/\/127\.0\.0\.1:1 did not answer/,
  );

  child.stdin.end();
  await exited;
  assert.deepEqual(await counts(dir), { records: 0, deadLetters: 1 }, 'nothing changed while refused');
});

test('goes through the admin api while the forwarder runs', async (t) => {
  const dir = await storageWith(t, { old: 2, recent: 1, queued: 1 });
  const spool: Spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1024 * 1024 });
  t.after(() => spool.close());
  const config = testConfig(dir, { 'ingest-enabled': false, 'teleport-enabled': false, 'dry-run': true });
  const sources: StatusSources = { config, version: 't', startedAt: Date.now(), spool: () => spool.stats() };
  const admin = createAdminServer(
    { host: '127.0.0.1', port: 0 },
    { health: () => healthReport(sources), status: () => statusDoc(sources), spool, logger: silentLogger },
  );
  const { port } = await admin.start();
  t.after(() => admin.close());
  const flags = { 'admin-port': port };

  let r = run(dir, { action: 'stats', dead: false }, flags);
  assert.equal(await r.done, 0);
  assert.match(r.out.text(), new RegExp(`through the running forwarder's admin API at http://127\\.0\\.0\\.1:${port}`));
  assert.match(r.out.text(), /records: 1 \(/);
  assert.match(r.out.text(), /dead letters: 3/);

  r = run(dir, { action: 'ls', limit: 5 }, flags);
  await r.done;
  const keys = [...r.out.text().matchAll(/^(d!\S+)/gm)].map((m) => m[1]!);
  assert.equal(keys.length, 3);
  assert.match(r.out.text(), /3 dead letters/);

  r = run(dir, { action: 'replay', id: [keys[2]!] }, flags);
  assert.equal(await r.done, 0, 'every given key was a dead letter');
  assert.match(r.out.text(), /moved 1 dead letter back to the queue; the forwarder delivers them now/);
  assert.equal(spool.stats().records, 2, 'the live spool has it queued');

  r = run(dir, { action: 'purge', before: '7d' }, flags);
  await r.done;
  assert.match(r.out.text(), /purged 2 dead letters/);
  assert.equal(spool.stats().deadLetters, 0);

  // --url to an admin api that serves another storage directory is refused
  const elsewhere = tempDir('tdf-telemetry-', t);
  await assert.rejects(
    runSpool({
      action: 'replay',
      dead: true,
      flags: { storage: elsewhere },
      env: {},
      url: `http://127.0.0.1:${port}`,
      out: capture(),
    }),
    new RegExp(`the forwarder behind http://127\\.0\\.0\\.1:${port} uses storage ${dir}, not ${elsewhere}`),
  );
});
