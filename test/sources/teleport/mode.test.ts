// the export mode is chosen once and kept: a teleport upgrade between runs (legacy storage, cursor v2 now
// available) must not restart the export from the start time; a downgrade (export storage, now UNIMPLEMENTED)
// falls back to the legacy search from the stored export date, not from the start time.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { generatedDataset } from '../../../src/fakes/teleport.js';
import { K } from '../../../src/sources/teleport/state.js';
import { isoDate } from '../../../src/sources/teleport/dates.js';
import type { SourceRecord } from '../../../src/record.js';
import {
  DAY,
  assertExactlyOnce,
  auditIds,
  datasetIds,
  drain,
  exactlyOnce,
  today,
  trackedEnvs,
  within,
  type Env,
} from './harness.js';

const env = trackedEnvs(after);
const dataset = () =>
  generatedDataset({
    dates: { start: new Date(today - 3 * DAY), days: 3 },
    eventsPerDate: 200,
    chunksPerDate: 2,
    seed: 5,
  });

async function run(e: Env, what: string): Promise<SourceRecord[]> {
  const s = e.source({ windowSizeMs: 6 * 3600_000 });
  await s.start();
  await within(s.done, 20_000, what);
  await s.stop();
  return drain(e.spool);
}

const login = (t: number) => ({
  event: 'user.login',
  code: 'T1000I',
  success: true,
  user: 'alice',
  method: 'local',
  uid: randomUUID(),
  time: new Date(t).toISOString(),
});

test('a legacy storage stays legacy after the auth service gains cursor v2: nothing is sent again', async () => {
  const e = await env({ dataset: dataset() });
  e.fake.faults.unimplementedExport = true; // an old auth service
  const first = await run(e, 'legacy run');
  assertExactlyOnce(auditIds(first), datasetIds(e.fake.dataset), 'first run');

  e.fake.faults.unimplementedExport = false; // upgraded between runs
  const fresh = [login(Date.now() - 5_000)];
  e.fake.addEvents(fresh);
  const second = await run(e, 'run after the upgrade');
  assert.deepEqual(auditIds(second), [fresh[0]!.uid], 'only the new event, no history again');
  assert.equal(e.fake.calls.ExportUnstructuredEvents!.count, 0, 'the export is not used');
  assert.equal(await e.spool.getState(K.mode), 'legacy', 'the probed mode is stored');
  const why = e.logs.lines.filter((l) => l.mode === 'legacy' && /legacy event search/.test(String(l.msg)));
  assert.equal(why.length, 2, 'each start logs the mode');
  assert.match(String(why[1]!.reason), /kept/);

  // storage written before the mode was stored: the legacy cursor tells the mode
  await e.spool.putState([{ type: 'del', key: K.mode }]);
  const third = await run(e, 'run on a storage without the mode key');
  assert.deepEqual(auditIds(third), []);
  assert.equal(await e.spool.getState(K.mode), 'legacy');
  assertExactlyOnce(
    auditIds([...first, ...second, ...third]),
    [...datasetIds(e.fake.dataset), fresh[0]!.uid],
    'all runs',
  );
});

test('an export storage on a downgraded auth service continues with the legacy search from the export date, with a warning', async () => {
  const e = await env({ dataset: dataset() });
  const todays = [login(Date.now() - 20_000), login(Date.now() - 10_000)];
  e.fake.addEvents(todays);
  const first = await run(e, 'export run');
  const exportDate = await e.spool.getState(K.exportDate);
  assert.equal(exportDate, isoDate(today));
  assertExactlyOnce(auditIds(first), [...datasetIds(e.fake.dataset), ...todays.map((x) => x.uid)], 'first run');

  e.fake.faults.unimplementedExport = true; // downgraded between runs
  const fresh = [login(Date.now() - 5_000)];
  e.fake.addEvents(fresh);
  const second = await run(e, 'run after the downgrade');
  const ids = auditIds(second);
  assert.ok(ids.includes(fresh[0]!.uid), 'the new event is shipped');
  // what is sent again is of the export date only, never the history before it
  const resent = ids.filter((id) => auditIds(first).includes(id));
  assert.deepEqual(resent.sort(), todays.map((x) => x.uid).sort());
  assert.ok(
    e.logs.lines.some(
      (l) => l.level === 40 && l.date === exportDate && /events of that date may be sent again/.test(String(l.msg)),
    ),
    'the warning names the date',
  );
  assert.equal(await e.spool.getState(K.mode), 'legacy', 'stored as legacy from now on');
  const legacy = JSON.parse((await e.spool.getState(K.legacy))!);
  assert.ok(legacy.w >= today, 'the legacy windows start at the export date');

  // upgraded again: stays on the legacy cursor, sends nothing again
  e.fake.faults.unimplementedExport = false;
  const third = await run(e, 'run after the upgrade back');
  assert.deepEqual(auditIds(third), []);
  const r = exactlyOnce(auditIds([...first, ...second, ...third]), [
    ...datasetIds(e.fake.dataset),
    ...todays.map((x) => x.uid),
    fresh[0]!.uid,
  ]);
  assert.deepEqual([r.missing, r.extra], [[], []]);
});
