// the local datadog intake in its own process (so its cpu is neither the client's nor the forwarder's), driven
// over the fork ipc channel: it sends { url } once listening and answers { type: 'stats' } with its counters.
// memory stays bounded: logs are counted, only their uids are kept (to check nothing is lost or doubled).
// BENCH_INTAKE_DELAY_MS delays every answer, as the way to datadog over the internet would.
import { startFakeIntake } from '../src/fakes/intake.js';

const apiKey = process.env.BENCH_DD_API_KEY ?? 'bench0123456789abcdef0123456789ab';
const intake = await startFakeIntake({
  apiKeys: [apiKey],
  keepLogs: false,
  idField: process.env.BENCH_ID_FIELD ?? 'uid',
});
// a round trip like the internet's to datadog, on every request (a fault that never runs out)
const delayMs = Number(process.env.BENCH_INTAKE_DELAY_MS ?? 0);
if (delayMs > 0) intake.inject({ delayMs, times: Infinity });

process.on('message', (m: { type?: string }) => {
  if (m.type === 'stats') {
    process.send!({
      type: 'stats',
      logCount: intake.logCount,
      ids: intake.ids.size,
      requests: intake.requests,
      accepted: intake.accepted,
      rejected: intake.rejected,
      maxEntriesSeen: intake.maxEntriesSeen,
    });
  }
});
process.on('disconnect', () => {
  void intake.close().finally(() => process.exit(0));
});
process.send!({ type: 'ready', url: intake.url });
