// damage done to a copy of a stopped forwarder's storage directory, one kind per case: the kinds
// test/faults/storage.test.ts injects, for the tests that check what comes after (spool repair)
import assert from 'node:assert/strict';
import {
  cpSync,
  closeSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { createRig, startLoad, type Rig } from './load.js';

export function fileIn(dir: string, pred: (name: string) => boolean): string {
  const name = readdirSync(dir).find(pred);
  if (!name) throw new Error(`no such file in ${dir}: ${readdirSync(dir).join(', ')}`);
  return join(dir, name);
}

export function overwrite(file: string, at: number, bytes: number): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(bytes, 0x5a), 0, bytes, at);
  } finally {
    closeSync(fd);
  }
}

export function halve(file: string): void {
  truncateSync(file, Math.floor(statSync(file).size / 2));
}

/** a copy of a store at `to`, damaged */
export function damagedCopy(from: string, to: string, damage: (dir: string) => void): string {
  cpSync(from, to, { recursive: true });
  damage(to);
  return to;
}

export interface StorageDamage {
  name: string;
  /** what is left: the table and log files whole (only the manifest or CURRENT hit), or not */
  tablesIntact: boolean;
  damage(dir: string): void;
}

const manifest = (d: string) => fileIn(d, (f) => f.startsWith('MANIFEST-'));
const table = (d: string) => fileIn(d, (f) => f.endsWith('.ldb'));

export const STORAGE_DAMAGES: readonly StorageDamage[] = [
  {
    name: 'MANIFEST overwritten with garbage',
    tablesIntact: true,
    damage: (d) => writeFileSync(manifest(d), Buffer.alloc(300, 0xab)),
  },
  { name: 'MANIFEST truncated to half', tablesIntact: true, damage: (d) => halve(manifest(d)) },
  { name: 'CURRENT emptied', tablesIntact: true, damage: (d) => writeFileSync(join(d, 'CURRENT'), '') },
  {
    name: 'CURRENT names a missing manifest',
    tablesIntact: true,
    damage: (d) => writeFileSync(join(d, 'CURRENT'), 'garbage\n'),
  },
  { name: 'CURRENT deleted', tablesIntact: true, damage: (d) => rmSync(join(d, 'CURRENT')) },
  {
    name: 'table file (.ldb) overwritten in the middle',
    tablesIntact: false,
    damage: (d) => overwrite(table(d), 2000, 4000),
  },
  { name: 'table file (.ldb) deleted', tablesIntact: false, damage: (d) => rmSync(table(d)) },
  { name: 'table file (.ldb) truncated to half', tablesIntact: false, damage: (d) => halve(table(d)) },
];

export interface QueuedStores {
  rig: Rig;
  /** the ids answered 200 */
  acked: Set<string>;
  /** the storage as the first run left it: the records in the write-ahead log */
  logStore: string;
  /** the same after a second start, which moved them into a table file */
  tableStore: string;
}

/**
 * a stopped forwarder's storage holding `records` queued records (~400 bytes each; the intake is down, so they
 * stay), copied into `work` twice: as the first run left it and after a second start
 */
export async function queuedStores(o: {
  apiKey: string;
  records: number;
  work: string;
  after(fn: () => unknown): void;
}): Promise<QueuedStores> {
  const rig = await createRig({ after: o.after }, { apiKey: o.apiKey });
  await rig.intake.setDown(true);
  let fw = await rig.start();
  const load = startLoad({
    port: fw.port!,
    tls: rig.tls,
    prefix: 'kept',
    connections: 8,
    padBytes: 400,
    limit: o.records,
  });
  await load.done;
  assert.equal(load.acked.size, o.records);
  assert.equal(await fw.stop(), 0);
  const logStore = join(o.work, 'log-store');
  cpSync(rig.storage, logStore, { recursive: true });
  fw = await rig.start();
  assert.equal(await fw.stop(), 0);
  const tableStore = join(o.work, 'table-store');
  cpSync(rig.storage, tableStore, { recursive: true });
  return { rig, acked: load.acked, logStore, tableStore };
}
