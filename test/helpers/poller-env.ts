// a poller end-to-end test's surroundings: a temp dir, the fake Auth Service with a dataset, a local intake that
// accepts one API key, and the start time of the dataset's first date. all closed after the test.
import type { TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeIntake } from '../../src/fakes/intake.js';
import { startFakeTeleport, type FakeDataset, type FakeTeleportTls } from '../../src/fakes/teleport.js';

export async function pollerEnv(t: TestContext, ds: FakeDataset, apiKey: string, o: { tls?: FakeTeleportTls } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-poll-'));
  const fake = await startFakeTeleport({ dataset: ds, tls: o.tls });
  const intake = await startFakeIntake({ apiKeys: [apiKey] });
  t.after(async () => {
    await fake.close();
    await intake.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const startTime = new Date(Date.parse(ds.chunks[0]!.date)).toISOString();
  return { dir, fake, intake, startTime };
}

/** a delivered log's key: `<tag>/<uid>`, or `<tag>/ei<index>` for recording events without a uid */
export function keyOf(log: Record<string, unknown>): string {
  return `${String(log.tag)}/${typeof log.uid === 'string' ? log.uid : `ei${String(log.ei)}`}`;
}

/** every record the dataset must produce: audit events tagged events.log, recordings tagged session.<sid>.log */
export function datasetKeys(ds: FakeDataset): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < ds.events.length; i++) out.add(keyOf({ tag: 'events.log', ...ds.events.eventAt(i).json }));
  for (const sid of ds.sessionIds) {
    const rec = ds.recording(sid)!;
    for (let i = 0; i < rec.length; i++) out.add(keyOf({ tag: `session.${sid}.log`, ...rec.eventAt(i).json }));
  }
  return out;
}
