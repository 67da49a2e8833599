// the exactly-once hand-off: the poller's records and the cursor that covers them reach LevelDB in one batch, so
// that a crash or a failed write never keeps one without the other (records without their cursor are read and
// shipped again; a cursor without its records loses them).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { openSpool, type SpoolDb } from '../../../src/spool/spool.js';
import { parseQueueKey, stateKey } from '../../../src/spool/keys.js';
import type { SourceRecord } from '../../../src/record.js';
import { createTeleportSource } from '../../../src/sources/teleport/source.js';
import { watchBatches } from '../../spool/helpers.js';
import {
  assertExactlyOnce,
  auditIds,
  bigDataset,
  datasetIds,
  pipelinePort,
  recordingKeys,
  sessionKeys,
  trackedEnvs,
  within,
} from './harness.js';
import { sectionDefaults } from '../../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const env = trackedEnvs(after);

test("the poller's records and the cursor that covers them are written in one batch, through the pipeline", async () => {
  const e = await env({ dataset: bigDataset() });
  await e.spool.close();
  const db = new ClassicLevel<string, string>(path.join(e.dir, 'watched')) as unknown as SpoolDb;
  const watch = watchBatches(db);
  e.spool = await openSpool({ syncIntervalMs: SYNC_MS, db, maxBytes: 256 * 1024 * 1024 });
  const emitted: SourceRecord[] = [];
  const port = pipelinePort(e.logs.logger, { after: (records) => emitted.push(...records) }, e.spool);
  const source = createTeleportSource(e.options(), { ...port, logger: e.logs.logger });
  await source.start();
  await within(source.done, 15_000, 'export');
  await source.stop();

  const cursors = stateKey('teleport/');
  const withRecords = watch.calls.filter((c) => c.ops.some((op) => op.type === 'put' && parseQueueKey(op.key)));
  assert.ok(withRecords.length > 1, `several batches of records (${withRecords.length})`);
  const alone = withRecords.filter((c) => !c.ops.some((op) => op.key.startsWith(cursors)));
  assert.equal(alone.length, 0, `${alone.length} of ${withRecords.length} batches wrote records without their cursor`);
  assert.equal(e.spool.stats().records, emitted.length, 'every record emitted is queued');
  assertExactlyOnce(auditIds(emitted), datasetIds(e.fake.dataset), 'audit events');
  assertExactlyOnce(sessionKeys(emitted), recordingKeys(e.fake.dataset), 'session events');
});
