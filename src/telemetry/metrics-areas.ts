// the metrics of each pipeline component, one function per area, registered on the one registry of
// createMetrics in the order /metrics lists them: filters, router, spool, datadog sink, http ingest.
import type { SpoolStats } from '../spool/types.js';
import type { RouterStats } from '../router/router.js';
import type { FilterStats } from '../filter/chain.js';
import type { DatadogSinkStatus } from '../sinks/datadog/sink.js';
import type { IngestStats } from '../sources/http/server.js';
import type { Labels, Readers } from './metric-readings.js';

export function filterMetrics({ counterFrom }: Readers, filters: () => FilterStats[] | undefined): void {
  counterFrom(
    'tdf_filter_records_total',
    'Records through each [[filter]] (1-based, in config order), by result: in (its pattern matched), out, dropped, errors (dropped because it could not process them).',
    ['filter', 'type', 'result'],
    () =>
      filters()?.flatMap((f) => {
        const l = { filter: String(f.index), type: f.type };
        return [
          [{ ...l, result: 'in' }, f.in],
          [{ ...l, result: 'out' }, f.out],
          [{ ...l, result: 'dropped' }, f.dropped],
          [{ ...l, result: 'errors' }, f.errors],
        ] as Array<[Labels, number]>;
      }),
  );
}

export function routerMetrics({ counterFrom }: Readers, router: () => RouterStats | undefined): void {
  counterFrom(
    'tdf_records_routed_total',
    'Records turned into a Datadog log by a match rule.',
    [],
    () => router()?.routed,
  );
  counterFrom(
    'tdf_records_dropped_total',
    'Records not shipped, by reason (null-rule, unmatched, too-old, rejected).',
    ['reason'],
    () => {
      const s = router();
      return (
        s && [
          [{ reason: 'null-rule' }, s.droppedNullRule],
          [{ reason: 'unmatched' }, s.unmatched],
          [{ reason: 'too-old' }, s.oldDropped],
          [{ reason: 'rejected' }, s.rejected],
        ]
      );
    },
  );
  counterFrom(
    'tdf_records_truncated_total',
    "Routed records shrunk to fit Datadog's per-log limit.",
    [],
    () => router()?.truncated,
  );
  counterFrom(
    'tdf_records_old_timestamps_total',
    'Records older than routing.max-age, by what the policy did (restamped, kept, dropped).',
    ['action'],
    () => {
      const s = router();
      return (
        s && [
          [{ action: 'restamped' }, s.oldRestamped],
          [{ action: 'kept' }, s.oldKept],
          [{ action: 'dropped' }, s.oldDropped],
        ]
      );
    },
  );
}

export function spoolMetrics(
  { counterFrom, gaugeFrom }: Readers,
  spool: () => SpoolStats | undefined,
  now: () => number,
): void {
  gaugeFrom(
    'tdf_spool_records',
    'Records in the spool not yet delivered (in flight included).',
    [],
    () => spool()?.records,
  );
  gaugeFrom('tdf_spool_bytes', 'Bytes of records in the spool not yet delivered.', [], () => spool()?.bytes);
  gaugeFrom(
    'tdf_spool_max_bytes',
    'Byte bound of the spool: at it, ingest answers 503 and the poller waits.',
    [],
    () => spool()?.maxBytes,
  );
  gaugeFrom(
    'tdf_spool_in_flight_records',
    'Records taken by the Datadog sink and not yet acknowledged.',
    [],
    () => spool()?.inFlight,
  );
  gaugeFrom(
    'tdf_spool_wal_dropped_bytes',
    'Bytes of the write-ahead log LevelDB skipped as damaged when the spool was opened (records may be lost; 0 when none).',
    [],
    () => {
      const s = spool();
      return s ? (s.walDamage?.droppedBytes ?? 0) : undefined;
    },
  );
  gaugeFrom(
    'tdf_spool_damaged_wal_kept',
    'Directories of damaged write-ahead logs kept in the storage directory (records may have been lost when they were found); remove them once inspected.',
    [],
    () => {
      const s = spool();
      return s ? (s.walDamageKept?.length ?? 0) : undefined;
    },
  );
  counterFrom(
    'tdf_spool_syncs_total',
    'Synced (fsync) writes of the spool: by a write that needed one (records acknowledged once fsynced, cursors, dead letters), or by the background sync of records acknowledged once written (ingest.ack = written).',
    ['trigger'],
    () => {
      const s = spool();
      return (
        s && [
          [{ trigger: 'write' }, (s.syncs ?? 0) - (s.backgroundSyncs ?? 0)],
          [{ trigger: 'background' }, s.backgroundSyncs ?? 0],
        ]
      );
    },
  );
  gaugeFrom(
    'tdf_spool_unsynced_seconds',
    'Age of the oldest write not yet synced to disk (0 when all are): what an os crash or power cut could take, with ingest.ack = written.',
    [],
    () => {
      const s = spool();
      if (!s) return undefined;
      return s.unsyncedSince == null ? 0 : Math.max(0, (now() - s.unsyncedSince) / 1000);
    },
  );
  gaugeFrom(
    'tdf_spool_dead_letters',
    'Records Datadog refused for good, kept in the dead-letter store.',
    [],
    () => spool()?.deadLetters,
  );
  gaugeFrom(
    'tdf_spool_oldest_record_age_seconds',
    'Age of the oldest undelivered record (0 when the spool is empty); Datadog does not index logs over 18 h old as current.',
    [],
    () => {
      const s = spool();
      if (!s) return undefined;
      return s.oldestAppendedAt === null ? 0 : Math.max(0, (now() - s.oldestAppendedAt) / 1000);
    },
  );
}

export function sinkMetrics({ counterFrom, gaugeFrom }: Readers, sink: () => DatadogSinkStatus | undefined): void {
  counterFrom(
    'tdf_records_delivered_total',
    'Records Datadog accepted (202) and the spool deleted.',
    [],
    () => sink()?.delivered,
  );
  counterFrom(
    'tdf_records_dead_lettered_total',
    'Records Datadog refused for good, moved to the dead-letter store.',
    [],
    () => sink()?.deadLettered,
  );
  counterFrom(
    'tdf_datadog_requests_total',
    'Requests sent to the Datadog intake (retries and batch splits included).',
    [],
    () => sink()?.requests,
  );
  counterFrom(
    'tdf_datadog_retries_total',
    'Requests retried, by cause (4xx incl. a refused key, 429, 5xx, network, other).',
    ['class'],
    () => {
      const s = sink();
      return s && Object.entries(s.retries).map(([cls, n]) => [{ class: cls }, n]);
    },
  );
  gaugeFrom('tdf_datadog_auth_failing', '1 while Datadog refuses the API key (delivery is held), else 0.', [], () => {
    const s = sink();
    return s && (s.authFailing ? 1 : 0);
  });
  gaugeFrom(
    'tdf_datadog_requests_in_flight',
    'Requests to Datadog waiting for an answer.',
    [],
    () => sink()?.inFlightRequests,
  );
}

export function ingestMetrics({ counterFrom, gaugeFrom }: Readers, ingest: () => IngestStats | undefined): void {
  counterFrom('tdf_ingest_requests_total', 'Requests that reached the ingest.', [], () => ingest()?.requests);
  gaugeFrom(
    'tdf_ingest_ack_mode',
    'The ingest acknowledgement mode in use (1 for it): fsync (200 once synced to disk) or written (200 once in the os, synced within ingest.sync-interval).',
    ['mode'],
    () => {
      const s = ingest();
      return (
        s && [
          [{ mode: 'fsync' }, s.ack === 'fsync' ? 1 : 0],
          [{ mode: 'written' }, s.ack === 'written' ? 1 : 0],
        ]
      );
    },
  );
  counterFrom(
    'tdf_ingest_errors_total',
    'Ingest requests answered with an error, by class (4xx, 5xx).',
    ['class'],
    () => {
      const s = ingest();
      return (
        s && [
          [{ class: '4xx' }, s.status4xx],
          [{ class: '5xx' }, s.status5xx],
        ]
      );
    },
  );
  counterFrom(
    'tdf_ingest_overloaded_total',
    'Ingest requests answered 503 (spool full or shutting down).',
    [],
    () => ingest()?.status503,
  );
  counterFrom(
    'tdf_ingest_tls_failures_total',
    'TLS connections refused, by reason (handshake: node refused it; usage: certificate not for client auth).',
    ['reason'],
    () => {
      const s = ingest();
      return (
        s && [
          [{ reason: 'handshake' }, s.tlsFailed],
          [{ reason: 'usage' }, s.tlsRefused],
        ]
      );
    },
  );
}
