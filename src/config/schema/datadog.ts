// the datadog sink
import type { Setting } from './setting.js';

export const DATADOG_SETTINGS = [
  {
    key: 'datadog.site',
    type: 'string',
    default: 'datadoghq.com',
    env: ['DD_SITE'],
    doc: 'Datadog site: datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com, ap2.datadoghq.com, uk1.datadoghq.com, ddog-gov.com, us2.ddog-gov.com.',
  },
  {
    key: 'datadog.url',
    type: 'string',
    env: ['DD_LOGS_INTAKE_URL'],
    doc: 'Explicit logs intake base URL (a proxy, or a local intake for tests); overrides datadog.site.',
  },
  {
    key: 'datadog.api-key',
    type: 'string',
    secret: true,
    env: ['DD_API_KEY'],
    doc: 'Datadog API key. Prefer the DD_API_KEY env var or datadog.api-key-file to writing it in a config file.',
  },
  { key: 'datadog.api-key-file', type: 'path', doc: 'File holding the Datadog API key (mode 0600).' },
  {
    key: 'datadog.concurrency',
    type: 'int',
    default: 4,
    min: 1,
    max: 64,
    doc: 'Requests to Datadog in flight at once.',
  },
  {
    key: 'datadog.batch-max-entries',
    type: 'int',
    default: 1000,
    min: 1,
    max: 1000,
    doc: 'Logs per request (Datadog allows 1000).',
  },
  {
    key: 'datadog.batch-max-bytes',
    type: 'bytes',
    default: 4_900_000,
    min: 1_100_000,
    max: 4_999_000,
    doc: 'Uncompressed bytes per request (Datadog allows 5 MB).',
  },
  {
    key: 'datadog.batch-wait',
    type: 'duration',
    default: 200,
    doc: 'After sending a batch under half full, wait this long before the next, so requests carry many logs (fewer requests, less CPU). A backlog is never delayed. "0" sends at once.',
  },
  { key: 'datadog.timeout', type: 'duration', default: 30_000, doc: 'Time allowed for one request to Datadog.' },
  {
    key: 'datadog.compression',
    type: 'enum',
    default: 'gzip',
    values: ['gzip', 'deflate', 'none'],
    doc: 'Content-Encoding of requests to Datadog.',
  },
  { key: 'datadog.compression-level', type: 'int', default: 6, min: 1, max: 9, doc: 'zlib compression level.' },
  {
    key: 'datadog.retry-initial',
    type: 'duration',
    default: 500,
    doc: 'First back-off after a 408, 429, 5xx or network error; it doubles (with full jitter) up to datadog.retry-max. Rate-limit headers take precedence.',
  },
  {
    key: 'datadog.retry-max',
    type: 'duration',
    default: 60_000,
    doc: 'Longest back-off between two tries of a batch.',
  },
  {
    key: 'datadog.auth-retry',
    type: 'duration',
    default: 30_000,
    doc: 'While Datadog refuses the API key (401/403), delivery is held and retried every auth-retry to twice that; nothing is dropped.',
  },
  {
    key: 'datadog.ca-file',
    type: 'path',
    doc: 'Extra CA certificate to trust for the intake (a TLS-intercepting proxy). Verification stays on.',
  },
] as const satisfies readonly Setting[];
