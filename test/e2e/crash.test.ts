// kill -9 under load, several times, then restart: every record that got a 200 reaches the intake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeIntake } from '../../src/fakes/intake.js';
import { writeTlsFiles, MtlsClient } from '../helpers/mtls.js';
import { runForwarder, writeIngestConfig, waitFor } from '../helpers/forwarder.js';

const API_KEY = 'crash0123456789abcdef0123456789a';

test('kill -9 at load, three times over, loses no acknowledged record', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-crash-'));
  const tls = writeTlsFiles(dir);
  const intake = await startFakeIntake({ apiKeys: [API_KEY] });
  // a slow intake keeps records in flight and in the spool when the kill lands
  intake.inject({ delayMs: 50, times: 1_000_000 });
  const config = writeIngestConfig(dir, tls, intake.url, { extra: 'batch-max-entries = 50' });
  t.after(async () => {
    await intake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const acked = new Set<string>();
  let seq = 0;
  for (let round = 0; round < 3; round++) {
    const fw = await runForwarder(['start', '--config', config], { DD_API_KEY: API_KEY });
    const client = new MtlsClient(fw.port!, tls);
    let killed = false;
    const worker = async () => {
      while (!killed) {
        const id = `r${round}-${seq++}`;
        try {
          const res = await client.post(
            '/test.log',
            JSON.stringify({ event: 'user.login', code: 'T1000I', uid: id, time: new Date().toISOString() }),
          );
          if (res.status === 200) acked.add(id);
        } catch {
          // the connection died with the process: not acknowledged, may or may not be kept
        }
      }
    };
    const workers = Array.from({ length: 10 }, worker);
    const target = acked.size + 1500;
    await waitFor(() => acked.size >= target, `1500 acknowledged records in round ${round}`);
    fw.proc.kill('SIGKILL');
    killed = true;
    await fw.exited;
    await Promise.all(workers);
    client.close();
  }
  // restart, with a healthy intake, and let it drain
  intake.clearFaults();
  const fw = await runForwarder(['start', '--config', config], { DD_API_KEY: API_KEY });
  t.after(() => fw.stop());
  const received = () => new Set(intake.logs.map((l: any) => l.uid as string));
  await waitFor(
    () => {
      const got = received();
      for (const id of acked) if (!got.has(id)) return false;
      return true;
    },
    'every acknowledged record at the intake',
    120_000,
  );
  const all = intake.logs.map((l: any) => l.uid as string);
  const duplicates = all.length - new Set(all).size;
  t.diagnostic(
    `acknowledged ${acked.size}, received ${all.length}, duplicates ${duplicates} (records delivered but not yet deleted when killed)`,
  );
  for (const id of acked) assert.ok(received().has(id), `acknowledged ${id} missing`);
});
