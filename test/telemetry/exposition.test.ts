// the /metrics text, byte for byte: dashboards and alerts read these names, labels and help texts. the
// fixture was written by the code before createMetrics was split by area; a change to it is a change users see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { ingestStats, teleportStatus } from './support.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');

async function exposition(): Promise<string> {
  const metrics = createMetrics(
    {
      spool: () => ({
        records: 12,
        bytes: 3456,
        maxBytes: 1 << 30,
        inFlight: 3,
        deadLetters: 2,
        oldestAppendedAt: NOW - 90_000,
        walDamage: { droppedBytes: 77 } as never,
        walDamageKept: ['wal-damaged-1'],
        unsyncedSince: NOW - 1500,
        syncs: 40,
        backgroundSyncs: 15,
      }),
      router: () => ({
        routed: 100,
        droppedNullRule: 4,
        unmatched: 5,
        rejected: 6,
        truncated: 7,
        oldRestamped: 8,
        oldKept: 9,
        oldDropped: 10,
      }),
      filters: () => [
        { index: 1, type: 'grep', pattern: '**', in: 50, out: 40, dropped: 9, errors: 1 },
        { index: 2, type: 'record_transformer', pattern: 'events.log', in: 40, out: 40, dropped: 0, errors: 0 },
      ],
      ingest: () => ({ ...ingestStats(), ack: 'written', requests: 30, status4xx: 2, status5xx: 1, status503: 1 }),
      sink: () => ({
        delivered: 90,
        deadLettered: 2,
        requests: 11,
        retries: { '4xx': 1, '429': 2, '5xx': 3, network: 4, other: 0 },
        authFailing: false,
        lastError: null,
        inFlightRequests: 1,
        stalled: null,
      }),
      teleport: () => ({
        ...teleportStatus(),
        eventsEmitted: 60,
        sessionEventsEmitted: 120,
        sessionsActive: 1,
        sessionsPending: 2,
        sessionsFinished: 3,
        sessionsGivenUp: 1,
        locksUpserted: 1,
        caughtUp: true,
        lastSuccessAt: NOW - 2000,
        failingSince: null,
        streamsOpen: 2,
        spoolWaiting: 0,
        quietStreams: [{ what: 'session recording s1', quietForMs: 120_000, started: true }],
        lastEventTime: NOW - 30_000,
      }),
      version: '1.2.3',
      now: () => NOW,
    },
    { sessionTagPrefix: 'session', defaultMetrics: false },
  );
  metrics.observeRecords('http', [{ tag: 'test.log' }, { tag: 'test.log' }, { tag: 'session.abc.log' }]);
  metrics.observeRecords('teleport', [{ tag: 'events.log' }]);
  metrics.observeSpooled(4);
  metrics.observeIngest(200, 0.003);
  metrics.observeIngest(503, 0.2);
  metrics.observeDatadog(202, 0.08);
  metrics.observeDatadog(null, 30);
  return metrics.render();
}

test('the /metrics text is the same, byte for byte, as before createMetrics was split', async () => {
  const want = readFileSync(fixture('telemetry', 'exposition.prom'), 'utf8');
  assert.equal(await exposition(), want);
});
