// prometheus metrics on a registry of our own (never prom-client's global one). what components already count
// in stats() is read at scrape time by collect() callbacks, so the hot paths gain nothing; only what no
// component counts goes through a hook: records received per source and tag, records spooled, and the latency
// of ingest requests and datadog requests.
// names are tdf_* with the unit in the name. label values are bounded: tags of session recordings
// (`session.<sid>.log`) are folded to `session.*.log`, and past maxTags distinct tags the rest count as "other".
// the metrics of each area are registered by metrics-areas.ts and metrics-teleport.ts on this module's registry.
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { SpoolStats } from '../spool/types.js';
import type { RouterStats } from '../router/router.js';
import type { FilterStats } from '../filter/chain.js';
import type { DatadogSinkStatus } from '../sinks/datadog/sink.js';
import type { IngestStats } from '../sources/http/server.js';
import type { TeleportSourceStatus } from '../sources/teleport/source.js';
import { readersOn } from './metric-readings.js';
import { codeHistogram } from './code-histogram.js';
import { filterMetrics, ingestMetrics, routerMetrics, sinkMetrics, spoolMetrics } from './metrics-areas.js';
import { teleportMetrics } from './metrics-teleport.js';

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
  /** prefix of session recording tags (`<prefix>.<sid>.log`): the config's session-tag-prefix */
  sessionTagPrefix: string;
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
export function foldTag(tag: string, sessionTagPrefix: string): string {
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

export function createMetrics(sources: MetricsSources, options: MetricsOptions): Metrics {
  const registry = new Registry();
  const now = sources.now ?? Date.now;
  const maxTags = options.maxTags ?? METRICS_DEFAULTS.maxTags;
  const { sessionTagPrefix } = options;
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  const readers = readersOn(registry);
  const { counterFrom } = readers;

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

  // the last (source, tag) counted and its entry: a client sends the same tag request after request, and the
  // lookup would build and hash a new key string each time. a raw tag's label never changes (tagsSeen only grows)
  let lastSource = '';
  let lastTag = '';
  let lastEntry: { source: string; tag: string; n: number } | undefined;

  function count(source: string, tag: string, n: number): void {
    if (lastEntry !== undefined && tag === lastTag && source === lastSource) {
      lastEntry.n += n;
      return;
    }
    const tagLabel = label(tag);
    const key = source + '\u0000' + tagLabel;
    let entry = received.get(key);
    if (entry) entry.n += n;
    else received.set(key, (entry = { source, tag: tagLabel, n }));
    lastSource = source;
    lastTag = tag;
    lastEntry = entry;
  }

  counterFrom(
    'tdf_records_received_total',
    'Records handed over by a source, before routing, by source (http, teleport) and tag (session ids folded).',
    ['source', 'tag'],
    () => [...received.values()].map((e) => [{ source: e.source, tag: e.tag }, e.n]),
  );
  counterFrom('tdf_records_spooled_total', 'Routed records appended to the spool durably.', [], () => spooled);

  // observed once a request: a histogram of our own, not prom-client's (see code-histogram.ts)
  const ingestLatency = codeHistogram(registry, {
    name: 'tdf_ingest_request_duration_seconds',
    help: "Time from an ingest request's arrival to its answer (the spool commit included), by status code.",
    buckets: METRICS_DEFAULTS.ingestBuckets,
  });
  const datadogLatency = codeHistogram(registry, {
    name: 'tdf_datadog_request_duration_seconds',
    help: 'Time of one request to the Datadog logs intake, by status code ("none": no http answer).',
    buckets: METRICS_DEFAULTS.datadogBuckets,
  });

  // ---- each component's own, in this order in /metrics ----
  if (sources.filters) filterMetrics(readers, sources.filters);
  if (sources.router) routerMetrics(readers, sources.router);
  if (sources.spool) spoolMetrics(readers, sources.spool, now);
  if (sources.sink) sinkMetrics(readers, sources.sink);
  if (sources.ingest) ingestMetrics(readers, sources.ingest);
  if (sources.teleport) teleportMetrics(readers, sources.teleport, now);

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
      if (seconds >= 0) ingestLatency.observe(status, seconds);
    },
    observeDatadog(status, seconds) {
      if (seconds >= 0) datadogLatency.observe(status, seconds);
    },
  };
}
