// the http ingest (the fluentd endpoint)
import { MiB, type Setting } from './setting.js';

export const INGEST_SETTINGS = [
  {
    key: 'ingest.enabled',
    type: 'bool',
    default: true,
    doc: 'Serve the Fluentd-compatible HTTPS endpoint for an existing teleport-event-handler. Needs ingest.ca, ingest.cert and ingest.key.',
  },
  { key: 'ingest.host', type: 'string', default: '0.0.0.0', doc: 'Address the ingest listens on.' },
  {
    key: 'ingest.port',
    type: 'int',
    default: 8888,
    min: 0,
    max: 65535,
    doc: "Port the ingest listens on (Fluentd's in_http default is 8888).",
  },
  {
    key: 'ingest.ca',
    type: 'path',
    doc: 'CA certificate (PEM) that client certificates must be signed by (`ca.crt` of `configure`).',
  },
  { key: 'ingest.cert', type: 'path', doc: 'Server certificate (PEM) (`server.crt`).' },
  { key: 'ingest.key', type: 'path', doc: 'Server private key (PEM), possibly encrypted (`server.key`).' },
  {
    key: 'ingest.key-passphrase',
    type: 'string',
    secret: true,
    doc: 'Passphrase of an encrypted ingest.key. Prefer ingest.key-passphrase-file or the env var TDF_INGEST_KEY_PASSPHRASE.',
  },
  { key: 'ingest.key-passphrase-file', type: 'path', doc: 'File holding the passphrase of ingest.key (mode 0600).' },
  {
    key: 'ingest.body-limit',
    type: 'bytes',
    default: 32 * MiB,
    min: 1024,
    doc: "Largest request body accepted; larger ones get 413 (Fluentd's body_size_limit).",
  },
  {
    key: 'ingest.max-decompressed',
    type: 'bytes',
    default: 64 * MiB,
    min: 1024,
    doc: 'Largest size a gzip/deflate body may inflate to; larger ones get 413.',
  },
  {
    key: 'ingest.request-timeout',
    type: 'duration',
    default: 60_000,
    doc: 'Time a client has to send a whole request; a stalled client is cut off after it (and can never hold up shutdown).',
  },
  {
    key: 'ingest.max-records',
    type: 'int',
    default: 10_000,
    min: 1,
    max: 10_000_000,
    doc: 'Most records one request may carry (a JSON array, ndjson, msgpack stream); more get 413. It also bounds the JSON or msgpack values of one request to 200 a record (at least 100,000). Both are checked before the body is parsed. teleport-event-handler sends one record per request.',
  },
  {
    key: 'ingest.ack',
    type: 'enum',
    default: 'fsync',
    values: ['fsync', 'written'],
    doc: "When a POST is answered 200. `fsync`: once its records' group commit is synced to disk, so nothing acknowledged is lost even to a power cut. `written`: once they are written to the spool's journal in the operating system: they survive a crash or kill -9 of the forwarder, not an os crash or power cut within ingest.sync-interval (a background sync makes them durable then); about 2x faster for one client posting one event at a time. For comparison, Fluentd's file buffer never syncs, Vector's disk buffer syncs every 500 ms.",
  },
  {
    key: 'ingest.sync-interval',
    type: 'duration',
    default: 100,
    min: 1,
    max: 10_000,
    doc: 'With ingest.ack = written: records acknowledged without fsync are synced to disk at most this long after they were written (the window an os crash or power cut could take them in).',
  },
  {
    key: 'ingest.retry-after',
    type: 'duration',
    default: 5000,
    doc: 'Retry-After sent with 503 when the spool is full.',
  },
] as const satisfies readonly Setting[];
