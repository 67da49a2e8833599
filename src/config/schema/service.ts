// admin http server (metrics, health, status), spool, runtime and routing
import { MiB, type Setting } from './setting.js';
import { HEAP_GROWING_PERCENT_DEFAULT } from '../../runtime.js';

export const SERVICE_SETTINGS = [
  {
    key: 'admin.enabled',
    type: 'bool',
    default: true,
    doc: 'Serve /metrics (Prometheus), /healthz, /readyz and /status over plain HTTP.',
  },
  {
    key: 'admin.host',
    type: 'string',
    default: '127.0.0.1',
    doc: 'Address of the admin server (loopback by default: it has no authentication).',
  },
  { key: 'admin.port', type: 'int', default: 8889, min: 0, max: 65535, doc: 'Port of the admin server.' },

  // spool
  {
    key: 'spool.max-bytes',
    type: 'bytes',
    default: 1024 * MiB,
    min: 1 * MiB,
    doc: 'Bound on queued bytes. When reached, ingest answers 503 + Retry-After and the poller waits: nothing is dropped.',
  },

  // runtime
  {
    key: 'runtime.heap-growing-percent',
    type: 'int',
    default: HEAP_GROWING_PERCENT_DEFAULT,
    min: 0,
    max: 1000,
    doc: "How far V8 lets the heap grow past what survived the last full collection, in percent: lower keeps memory down at some cpu cost (and, below ~75, at some latency: more full collections). It replaces V8's own factors (adaptive, up to 4x when allocation is fast; 0 keeps them). Not a heap cap: a burst still gets the memory it needs. node's own --heap-growing-percent wins.",
  },

  // routing
  {
    key: 'routing.unmatched',
    type: 'enum',
    default: 'drop',
    values: ['drop', 'reject'],
    doc: 'Records no match rule matches: `drop` counts them and warns (rate limited), like Fluentd; `reject` answers the HTTP client 400.',
  },
  {
    key: 'routing.old-timestamps',
    type: 'enum',
    default: 'restamp',
    values: ['restamp', 'keep', 'drop'],
    doc: 'Events older than routing.max-age (Datadog does not index logs over 18 h old as current): `restamp` sends them stamped now with the original time kept in `original_timestamp`; `keep` sends them as they are; `drop` drops them. Counts are logged.',
  },
  {
    key: 'routing.max-age',
    type: 'duration',
    default: 17 * 3600_000,
    doc: "Age past which routing.old-timestamps applies (a margin under Datadog's 18 h).",
  },
] as const satisfies readonly Setting[];
