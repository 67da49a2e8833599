// the pipeline between the sources and the spool: each source's policy for what the router will not send, and
// dry run, as a table (source x route result x dry run) over a real router and a real spool on disk.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createPipeline, DryRunState, openStorage, planBatch, POLICY, type SourceName } from '../src/pipeline.js';
import { createRouter } from '../src/router/router.js';
import { sectionDefaults } from '../src/config/sections.js';
import { openSpool } from '../src/spool/spool.js';
import { StateStore } from '../src/sources/teleport/state.js';
import { DecodeError, DryRunNotKeptError } from '../src/errors.js';
import type { SourceRecord } from '../src/record.js';
import type { Spool, StateOp } from '../src/spool/types.js';
import { captureLogs } from './helpers/logs.js';
import { tempDir as makeTempDir } from './helpers/temp.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = (): string => {
  const d = makeTempDir('tdf-pipeline-');
  dirs.push(d);
  return d;
};

// routing.unmatched = reject, so that the poller's own "drop" is what keeps its unmatched records out of a 400
const router = () =>
  createRouter({
    ...sectionDefaults('routing'),
    rules: [
      { pattern: 'app.**', type: 'datadog' },
      { pattern: 'noise.**', type: 'null' },
    ],
    unmatched: 'reject',
    hostname: 'h',
  });

const RECORDS: Record<string, SourceRecord> = {
  send: { tag: 'app.web', time: 1_700_000_000_000, record: { message: 'hello' } },
  'null rule': { tag: 'noise.x', time: 1_700_000_000_000, record: { message: 'noise' } },
  unmatched: { tag: 'other.x', time: 1_700_000_000_000, record: { message: 'nobody' } },
  'not an object': { tag: 'app.web', time: 1_700_000_000_000, record: [1, 2] as unknown as Record<string, unknown> },
};
type Case = keyof typeof RECORDS;

interface Expect {
  /** records appended to the spool */
  spooled: number;
  /** what accept rejects with */
  error?: typeof DecodeError | typeof DryRunNotKeptError;
  /** the state op sent along is kept (in the spool, or a dry run's memory) */
  state: boolean;
  log?: RegExp;
  /** not logged */
  quiet?: RegExp;
}

// each batch is one ok record before the case's record, so a refused batch keeps nothing of either
const TABLE: Array<[SourceName, Case, boolean, Expect]> = [
  ['http', 'send', false, { spooled: 2, state: true }],
  ['http', 'send', true, { spooled: 0, error: DryRunNotKeptError, state: true, log: /dry run: would ship/ }],
  ['http', 'null rule', false, { spooled: 1, state: true }],
  ['http', 'null rule', true, { spooled: 0, error: DryRunNotKeptError, state: true, log: /dry run: would ship/ }],
  ['http', 'unmatched', false, { spooled: 0, error: DecodeError, state: false }],
  ['http', 'unmatched', true, { spooled: 0, error: DecodeError, state: false, log: /would reject this batch/ }],
  ['http', 'not an object', false, { spooled: 0, error: DecodeError, state: false }],
  ['http', 'not an object', true, { spooled: 0, error: DecodeError, state: false, log: /would reject/ }],
  ['teleport', 'send', false, { spooled: 2, state: true }],
  ['teleport', 'send', true, { spooled: 0, state: true, log: /dry run: would ship/ }],
  ['teleport', 'null rule', false, { spooled: 1, state: true }],
  ['teleport', 'null rule', true, { spooled: 0, state: true, log: /dry run: would ship/ }],
  // dropped as unmatched (counted, a throttled warning), not as an error
  ['teleport', 'unmatched', false, { spooled: 1, state: true, quiet: /could not be routed/ }],
  [
    'teleport',
    'unmatched',
    true,
    { spooled: 0, state: true, log: /dry run: would ship/, quiet: /could not be routed/ },
  ],
  ['teleport', 'not an object', false, { spooled: 1, state: true, log: /could not be routed and was dropped/ }],
  ['teleport', 'not an object', true, { spooled: 0, state: true, log: /could not be routed and was dropped/ }],
];

for (const [source, kind, dryRun, want] of TABLE) {
  test(`${source} x ${kind} x ${dryRun ? 'dry run' : 'real run'}`, async () => {
    const real = await openSpool({ syncIntervalMs: SYNC_MS, path: join(tempDir(), 'spool'), maxBytes: 1 << 20 });
    const dry = new DryRunState(1 << 20);
    const logs = captureLogs();
    let observed = 0;
    let spooledSeen = 0;
    const p = createPipeline({
      router: router(),
      spool: dryRun ? dry : real,
      dryRun,
      logger: logs.logger,
      observeRecords: (_s, r) => void (observed += r.length),
      observeSpooled: (n) => void (spooledSeen += n),
    });
    const op: StateOp = { type: 'put', key: 'teleport/x', value: '1' };
    const run = p.accept(source, [RECORDS.send!, RECORDS[kind]!], [op]);
    if (want.error) await assert.rejects(run, want.error);
    else await run;
    assert.equal(observed, 2, 'every record received is counted');
    assert.equal(real.stats().records, want.spooled);
    assert.equal(spooledSeen, want.spooled);
    const kept = await (dryRun ? dry : real).getState('teleport/x');
    assert.equal(kept, want.state ? '1' : undefined);
    if (dryRun) assert.deepEqual(await real.listState(''), [], 'a dry run writes nothing to the storage');
    if (want.log)
      assert.ok(
        logs.lines.some((l) => want.log!.test(String(l.msg))),
        `logged ${want.log}`,
      );
    if (want.quiet) assert.ok(!logs.lines.some((l) => want.quiet!.test(String(l.msg))), `not logged ${want.quiet}`);
    await real.close();
  });
}

test('the policies: the poller drops what the ingest refuses', () => {
  assert.deepEqual(POLICY.http, { onReject: 'refuse' });
  assert.deepEqual(POLICY.teleport, { unmatched: 'drop', onReject: 'drop' });
});

test('planBatch: a real run stops at the first rejected record; a dry run counts them all', () => {
  const batch = [RECORDS.unmatched!, RECORDS.send!, RECORDS['not an object']!, RECORDS['null rule']!];
  const r = router();
  const route = (rec: SourceRecord, u?: 'drop') => r.route(rec, u);
  const realRun = planBatch(route, POLICY.http, batch, false);
  assert.deepEqual(
    { values: realRun.values.length, rejected: realRun.rejected, refusal: realRun.refusal },
    { values: 0, rejected: 1, refusal: 'no <match> rule matches tag "other.x"' },
  );
  const dryRun = planBatch(route, POLICY.http, batch, true);
  assert.deepEqual(
    { values: dryRun.values.length, dropped: dryRun.dropped, rejected: dryRun.rejected },
    {
      values: 1,
      dropped: 1,
      rejected: 2,
    },
  );
  const poller = planBatch(route, POLICY.teleport, batch, false);
  assert.deepEqual(
    { values: poller.values.length, dropped: poller.dropped, unroutable: poller.unroutable.map((u) => u.tag) },
    { values: 1, dropped: 3, unroutable: ['app.web'] },
  );
  assert.equal(poller.refusal, undefined);
});

test('filters run on the batch before the router, in order', async () => {
  const real = await openSpool({ syncIntervalMs: SYNC_MS, path: join(tempDir(), 'spool'), maxBytes: 1 << 20 });
  const seen: string[] = [];
  const p = createPipeline({
    router: router(),
    spool: real,
    dryRun: false,
    logger: captureLogs().logger,
    filters: [
      (source, records) => {
        seen.push(`first:${source}:${records.length}`);
        return records.filter((r) => r.tag !== 'other.x');
      },
      async (_source, records) => {
        seen.push(`second:${records.length}`);
        return records;
      },
    ],
  });
  // the unmatched record would make the router refuse the batch: filtered out first, the batch is kept
  await p.accept('http', [RECORDS.send!, RECORDS.unmatched!]);
  assert.deepEqual(seen, ['first:http:2', 'second:1']);
  assert.equal(real.stats().records, 1);
  await real.close();
});

async function storeWithState(path: string, ops: StateOp[]): Promise<void> {
  const s = await openSpool({ syncIntervalMs: SYNC_MS, path, maxBytes: 1 << 20 });
  await s.putState(ops);
  await s.close();
}

/** openStorage as `start --dry-run` calls it on path */
const openDryRun = (path: string, logs: ReturnType<typeof captureLogs>, startTimeGiven = false) =>
  openStorage({ syncIntervalMs: SYNC_MS, storage: path, maxBytes: 1 << 20, dryRun: true, startTimeGiven, ...logs });

test('dry run writes nothing but remembers its own progress, from the cursors in the storage', async () => {
  const path = join(tempDir(), 'spool');
  await storeWithState(path, [{ type: 'put', key: 'teleport/old', value: 'o' }]);
  const logs = captureLogs();
  const { spool } = await openDryRun(path, logs);
  const p = createPipeline({ router: router(), spool, dryRun: true, logger: logs.logger });
  const store = new StateStore({ ...p.teleport }, logs.logger);
  await store.commit([{ tag: 'app.t', time: 1, record: {} }], [{ type: 'put', key: 'teleport/x', value: '1' }]);
  await store.put([{ type: 'del', key: 'teleport/old' }]);
  assert.equal(await store.get('teleport/x'), '1');
  assert.deepEqual(await store.list('teleport/'), [{ key: 'teleport/x', value: '1' }]);
  const after = await openSpool({ syncIntervalMs: SYNC_MS, path, maxBytes: 1 << 20 });
  assert.deepEqual(
    await after.listState('teleport/'),
    [{ key: 'teleport/old', value: 'o' }],
    'the storage is unchanged',
  );
  assert.equal(after.stats().records, 0);
  await after.close();
});

test('dry run beside a running forwarder: from now unless a start-time was given; the storage stays locked', async () => {
  const path = join(tempDir(), 'spool');
  const running: Spool = await openSpool({ syncIntervalMs: SYNC_MS, path, maxBytes: 1 << 20 });
  await running.putState([{ type: 'put', key: 'teleport/x', value: 'c' }]);
  const logs = captureLogs();
  const from = await openDryRun(path, logs);
  assert.equal(from.dryRunFrom, 'now');
  assert.deepEqual(await from.spool.listState('teleport/'), []);
  const given = await openDryRun(path, logs, true);
  assert.equal(given.dryRunFrom, undefined);
  assert.ok(logs.lines.some((l) => /in use by a running forwarder/.test(String(l.msg))));
  assert.equal(await running.getState('teleport/x'), 'c');
  await running.close();
});

test('dry run with no storage yet creates none', async () => {
  const path = join(tempDir(), 'none');
  const logs = captureLogs();
  const { spool } = await openDryRun(path, logs);
  assert.ok(spool instanceof DryRunState);
  assert.ok(logs.lines.some((l) => /holds no spool yet/.test(String(l.msg))));
  await assert.rejects(
    import('node:fs/promises').then((fs) => fs.stat(path)),
    /ENOENT/,
  );
});
