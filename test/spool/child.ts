// a child process for durability.test.ts (not a test itself; without arguments it does nothing):
//   crash <dir> <workers>   append records from concurrent workers forever, printing each acknowledged id
//   crash-written <dir> <workers>   the same with appends acknowledged once written, not fsynced
//   deliver <dir> <workers> the same (fsynced), while a sink takes and acks records: prints t<id> when it takes
//                           a record and d<id> once its ack resolved; a tiny journal bound makes LevelDB get
//                           the journal's records and the journal move to its other file again and again
//   open <dir>              try to open the spool and print the outcome as JSON
import { openSpool } from '../../src/spool/spool.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const [mode, dir, workers] = process.argv.slice(2);

if ((mode === 'crash' || mode === 'crash-written' || mode === 'deliver') && dir) {
  const sync = mode !== 'crash-written';
  const spool = await openSpool({
    syncIntervalMs: SYNC_MS,
    path: dir,
    maxBytes: 1 << 30,
    ...(mode === 'deliver' ? { journalMaxBytes: 64 * 1024, journalStagingMaxChars: 16 * 1024 } : {}),
  });
  if (mode === 'deliver') {
    void (async () => {
      for (;;) {
        const items = await spool.take(1 + Math.floor(Math.random() * 40), 1 << 20);
        const ids = items.map((item) => (JSON.parse(item.value) as { id: number }).id);
        process.stdout.write(ids.map((id) => `t${id}`).join('\n') + '\n');
        await spool.ack(items);
        process.stdout.write(ids.map((id) => `d${id}`).join('\n') + '\n');
      }
    })();
  }
  let next = 0;
  const worker = async (): Promise<never> => {
    for (;;) {
      // 1 to 3 records per call, like http requests carrying one event or a small batch
      const batch = Array.from({ length: 1 + (next % 3) }, () => next++);
      await spool.append(
        batch.map((id) => JSON.stringify({ id, message: 'crash test record', pad: 'p'.repeat(200) })),
        [],
        { sync },
      );
      // stdout to a pipe is synchronous on linux: a printed id has reached the parent before the next append
      process.stdout.write(batch.join('\n') + '\n');
    }
  };
  await Promise.all(Array.from({ length: Number(workers ?? 16) }, worker));
} else if (mode === 'open' && dir) {
  try {
    const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 20 });
    await spool.close();
    process.stdout.write(JSON.stringify({ ok: true }) + '\n');
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    process.stdout.write(JSON.stringify({ ok: false, name: e.name, code: e.code, message: e.message }) + '\n');
  }
}
