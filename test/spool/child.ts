// a child process for durability.test.ts (not a test itself; without arguments it does nothing):
//   crash <dir> <workers>   append records from concurrent workers forever, printing each acknowledged id
//   crash-written <dir> <workers>   the same with appends acknowledged once written, not fsynced
//   open <dir>              try to open the spool and print the outcome as JSON
import { openSpool } from '../../src/spool/spool.js';
import { sectionDefaults } from '../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

const [mode, dir, workers] = process.argv.slice(2);

if ((mode === 'crash' || mode === 'crash-written') && dir) {
  const sync = mode === 'crash';
  const spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes: 1 << 30 });
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
