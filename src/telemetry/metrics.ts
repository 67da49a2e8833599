// prometheus metrics on a registry of our own (never prom-client's global one). what components already count
// in stats() is read at scrape time by collect() callbacks, so the hot paths gain nothing; only what no
// component counts goes through a hook: records received per source and tag, records spooled, and the latency
// of ingest requests and datadog requests.
// names are tdf_* with the unit in the name. label values are bounded: tags of session recordings
// (`session.<sid>.log`) are folded to `session.*.log`, and past maxTags distinct tags the rest count as "other".
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SpoolStats } from '../spool/types.js';
import type { RouterStats } from '../router/router.js';
import type { FilterStats } from '../filter/chain.js';
import type { DatadogSinkStatus } from '../sinks/datadog/sink.js';
import type { IngestStats } from '../sources/http/server.js';
import type { TeleportSourceStatus } from '../sources/teleport/source.js';

/** snapshots of the components; a missing provider (component disabled) means its metrics are not exported */
export interface MetricsSources {
  /** undefined while the spool is not open */
  spool?: () => SpoolStats | undefined;
  router?: () => RouterStats | undefined;
  /** set when filters are configured */
  filters?: () => FilterStats[] | undefined;
  ingest?: () => IngestStats | undefined;
  sink?: () => DatadogSinkStatus | undefined;
  teleport?: () => TeleportSourceStatus | undefined;
  version?: string;
  now?: () => number;
}

export interface MetricsOptions {
  /** distinct tag label values before the rest count as "other"; default 100 */
  maxTags?: number;
  /** prefix of session recording tags (`<prefix>.<sid>.log`); default "session" */
  sessionTagPrefix?: string;
  /** process cpu, memory, event loop lag, gc; default true */
  defaultMetrics?: boolean;
}

export type RecordSource = 'http' | 'teleport';

export interface Metrics {
  readonly registry: Registry;
  /** content-type of render()'s text */
  readonly contentType: string;
  /** the prometheus text exposition */
  render(): Promise<string>;
  /** records a source handed over, before routing (one map update per run of equal tags) */
  observeRecords(source: RecordSource, records: ReadonlyArray<{ tag: string }>): void;
  /** records appended to the spool durably */
  observeSpooled(count: number): void;
  /** one ingest request answered with `status` after `seconds` */
  observeIngest(status: number, seconds: number): void;
  /** one request to the datadog intake: its status, or null when no http answer came (network, timeout) */
  observeDatadog(status: number | null, seconds: number): void;
}

export const METRICS_DEFAULTS = Object.freeze({
  maxTags: 100,
  sessionTagPrefix: 'session',
  maxTagChars: 128, // a tag comes from the client's url path
  foldCacheSize: 1000, // raw tag -> label cache, cleared when full
  // ingest latency includes the fsync of the spool commit
  ingestBuckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  // one request to the intake, compression excluded; the client times out at 30 s by default
  datadogBuckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
});

const OTHER = 'other';
// a uuid, or a long run of hex or digits: an id, not a name
const ID_SEGMENT = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|\d{6,})$/i;

/** the label value of a tag: session ids and other id-like segments become `*`, long tags are cut. pure */
export function foldTag(tag: string, sessionTagPrefix: string = METRICS_DEFAULTS.sessionTagPrefix): string {
  const prefix = sessionTagPrefix + '.';
  if (tag.startsWith(prefix) && tag.endsWith('.log') && tag.length > prefix.length + 4)
    return `${sessionTagPrefix}.*.log`;
  let folded = tag;
  if (tag.includes('.') || ID_SEGMENT.test(tag)) {
    folded = tag
      .split('.')
      .map((s) => (ID_SEGMENT.test(s) ? '*' : s))
      .join('.');
  }
  return folded.length > METRICS_DEFAULTS.maxTagChars ? folded.slice(0, METRICS_DEFAULTS.maxTagChars) + '…' : folded;
}

/** the status label of a histogram: the http code, or "none" when no answer came */
function codeLabel(status: number | null): string {
  return status !== null && Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'none';
}

type Labels = Record<string, string>;
type Reading = number | Array<[Labels, number]> | undefined;

export function createMetrics(sources: MetricsSources, options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const now = sources.now ?? Date.now;
  const maxTags = options.maxTags ?? METRICS_DEFAULTS.maxTags;
  const sessionTagPrefix = options.sessionTagPrefix ?? METRICS_DEFAULTS.sessionTagPrefix;
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  // a counter whose value is read from a snapshot at scrape time
  const counterFrom = (name: string, help: string, labelNames: string[], read: () => Reading): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter<string>) {
        this.reset();
        // reset() leaves a label-less series at 0; no reading means no series
        if (
          !set(read(), (labels, v) => {
            if (v >= 0) this.inc(labels, v);
          }) &&
          labelNames.length === 0
        )
          this.remove();
      },
    });
  };
  const gaugeFrom = (name: string, help: string, labelNames: string[], read: () => Reading): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Gauge<string>) {
        this.reset();
        if (!set(read(), (labels, v) => this.set(labels, v)) && labelNames.length === 0) this.remove();
      },
    });
  };

  new Gauge({
    name: 'tdf_build_info',
    help: 'Version of the forwarder; always 1.',
    labelNames: ['version'],
    registers: [registry],
  }).set({ version: sources.version ?? 'unknown' }, 1);

  // ---- hooks: received (per source and tag), spooled, latencies ----
  const received = new Map<string, { source: string; tag: string; n: number }>();
  const tagsSeen = new Set<string>();
  let foldCache = new Map<string, string>();
  let spooled = 0;

  function label(tag: string): string {
    let folded = foldCache.get(tag);
    if (folded === undefined) {
      folded = foldTag(tag, sessionTagPrefix);
      if (!tagsSeen.has(folded)) {
        if (tagsSeen.size >= maxTags) folded = OTHER;
        else tagsSeen.add(folded);
      }
      if (foldCache.size >= METRICS_DEFAULTS.foldCacheSize) foldCache = new Map();
      foldCache.set(tag, folded);
    }
    return folded;
  }

  function count(source: string, tag: string, n: number): void {
    const tagLabel = label(tag);
    const key = source + '\u0000' + tagLabel;
    const entry = received.get(key);
    if (entry) entry.n += n;
    else received.set(key, { source, tag: tagLabel, n });
  }

  counterFrom(
    'tdf_records_received_total',
    'Records handed over by a source, before routing, by source (http, teleport) and tag (session ids folded).',
    ['source', 'tag'],
    () => [...received.values()].map((e) => [{ source: e.source, tag: e.tag }, e.n]),
  );
  counterFrom('tdf_records_spooled_total', 'Routed records appended to the spool durably.', [], () => spooled);

  const ingestLatency = new Histogram({
    name: 'tdf_ingest_request_duration_seconds',
    help: "Time from an ingest request's arrival to its answer (the spool commit included), by status code.",
    labelNames: ['code'],
    buckets: [...METRICS_DEFAULTS.ingestBuckets],
    registers: [registry],
  });
  const datadogLatency = new Histogram({
    name: 'tdf_datadog_request_duration_seconds',
    help: 'Time of one request to the Datadog logs intake, by status code ("none": no http answer).',
    labelNames: ['code'],
    buckets: [...METRICS_DEFAULTS.datadogBuckets],
    registers: [registry],
  });

  // ---- filters ----
  const filters = sources.filters;
  if (filters) {
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

  // ---- router ----
  const router = sources.router;
  if (router) {
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

  // ---- spool ----
  const spool = sources.spool;
  if (spool) {
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

  // ---- datadog sink ----
  const sink = sources.sink;
  if (sink) {
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

  // ---- http ingest ----
  const ingest = sources.ingest;
  if (ingest) {
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

  // ---- teleport poller ----
  const teleport = sources.teleport;
  if (teleport) {
    counterFrom(
      'tdf_teleport_events_total',
      'Audit events the poller shipped to the spool.',
      [],
      () => teleport()?.eventsEmitted,
    );
    counterFrom(
      'tdf_teleport_session_events_total',
      'Session recording events the poller shipped to the spool.',
      [],
      () => teleport()?.sessionEventsEmitted,
    );
    gaugeFrom(
      'tdf_teleport_sessions',
      'Session recordings by state (active: streaming now; pending: waiting their turn or a retry).',
      ['state'],
      () => {
        const s = teleport();
        return (
          s && [
            [{ state: 'active' }, s.sessionsActive],
            [{ state: 'pending' }, s.sessionsPending],
          ]
        );
      },
    );
    counterFrom(
      'tdf_teleport_sessions_completed_total',
      'Session recordings done with, by result (finished, given_up).',
      ['result'],
      () => {
        const s = teleport();
        return (
          s && [
            [{ result: 'finished' }, s.sessionsFinished],
            [{ result: 'given_up' }, s.sessionsGivenUp],
          ]
        );
      },
    );
    counterFrom(
      'tdf_teleport_locks_upserted_total',
      'Teleport locks created for repeated failed logins.',
      [],
      () => teleport()?.locksUpserted,
    );
    gaugeFrom(
      'tdf_teleport_state',
      'Poller state: 1 for the current one (created, running, stopped, failed).',
      ['state'],
      () => {
        const s = teleport();
        return (
          s &&
          (['created', 'running', 'stopped', 'failed'] as const).map((st) => [{ state: st }, s.state === st ? 1 : 0])
        );
      },
    );
    gaugeFrom('tdf_teleport_caught_up', '1 when the poller has read up to the present, else 0.', [], () => {
      const s = teleport();
      return s && (s.caughtUp ? 1 : 0);
    });
    // the alert for a poller that reads nothing (a quiet cluster still answers, so this keeps moving)
    gaugeFrom(
      'tdf_teleport_last_success_timestamp_seconds',
      'When a call to the Teleport auth service last succeeded (a listing, a page, a chunk streamed).',
      [],
      () => {
        const t = teleport()?.lastSuccessAt;
        return t === null || t === undefined ? undefined : t / 1000;
      },
    );
    gaugeFrom(
      'tdf_teleport_failing_seconds',
      'How long calls to the Teleport auth service have been failing without one succeeding; 0 when the last one succeeded.',
      [],
      () => {
        const s = teleport();
        return s && (s.failingSince === null ? 0 : Math.max(0, (now() - s.failingSince) / 1000));
      },
    );
    gaugeFrom(
      'tdf_teleport_streams_open',
      'Teleport server streams open now (export chunks, session recordings).',
      [],
      () => teleport()?.streamsOpen,
    );
    gaugeFrom(
      'tdf_teleport_spool_waiting',
      'Teleport batches (export chunks, session recordings) held back now because the spool is full.',
      [],
      () => teleport()?.spoolWaiting,
    );
    // a stalled stream fails only at stream-idle-timeout: this shows it before
    gaugeFrom(
      'tdf_teleport_stream_quiet_seconds',
      'How long the quietest open Teleport stream has sent nothing, once that is a minute (a fifth of stream-idle-timeout if less); else 0.',
      [],
      () => {
        const s = teleport();
        return s && (s.quietStreams.length === 0 ? 0 : s.quietStreams[0]!.quietForMs / 1000);
      },
    );
    // a quiet cluster makes this grow too: alert on it together with tdf_teleport_caught_up == 0
    gaugeFrom('tdf_teleport_export_lag_seconds', 'Now minus the time of the newest audit event shipped.', [], () => {
      const t = teleport()?.lastEventTime;
      return t === null || t === undefined ? undefined : Math.max(0, (now() - t) / 1000);
    });
    // a gauge, not a date label: a label would start a new series every day
    gaugeFrom(
      'tdf_teleport_cursor_date_timestamp_seconds',
      'Start (UTC) of the date the export cursor is on.',
      [],
      () => {
        const d = teleport()?.date;
        const ms = d ? Date.parse(`${d.slice(0, 10)}T00:00:00Z`) : NaN;
        return Number.isFinite(ms) ? ms / 1000 : undefined;
      },
    );
    gaugeFrom(
      'tdf_teleport_identity_expiry_timestamp_seconds',
      "When the Teleport identity's certificate expires.",
      [],
      () => {
        const na = teleport()?.identity?.notAfter;
        const ms = na ? Date.parse(na) : NaN;
        return Number.isFinite(ms) ? ms / 1000 : undefined;
      },
    );
  }

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    observeRecords(source, records) {
      const n = records.length;
      let i = 0;
      while (i < n) {
        const tag = records[i]!.tag;
        let j = i + 1;
        while (j < n && records[j]!.tag === tag) j++;
        count(source, tag, j - i);
        i = j;
      }
    },
    observeSpooled(n) {
      if (n > 0) spooled += n;
    },
    observeIngest(status, seconds) {
      if (seconds >= 0) ingestLatency.observe({ code: codeLabel(status) }, seconds);
    },
    observeDatadog(status, seconds) {
      if (seconds >= 0) datadogLatency.observe({ code: codeLabel(status) }, seconds);
    },
  };
}

/** false when there was nothing to put */
function set(reading: Reading, put: (labels: Labels, value: number) => void): boolean {
  if (reading === undefined || reading === null) return false;
  if (typeof reading === 'number') {
    if (!Number.isFinite(reading)) return false;
    put({}, reading);
    return true;
  }
  for (const [labels, value] of reading) if (Number.isFinite(value)) put(labels, value);
  return true;
}
