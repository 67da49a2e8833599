// the datadog logs intake (http api v2) and its limits. these are the service's rules, not our tuning:
// breaking them gets a request refused (413) or logs cut, so the sink and the fake intake share them.
// https://docs.datadoghq.com/api/latest/logs/#send-logs

/** path of the logs intake on `http-intake.logs.<site>` */
export const INTAKE_PATH = '/api/v2/logs';
/** path of the api key check on `api.<site>` */
export const VALIDATE_PATH = '/api/v1/validate';
/** the client's server template for v2.LogsApi.submitLog is `https://{subdomain}.{site}` */
export const INTAKE_SUBDOMAIN = 'http-intake.logs';
export const API_SUBDOMAIN = 'api';

/** entries in one request's json array; more is refused with 413 */
export const MAX_ENTRIES_PER_REQUEST = 1000;
/** uncompressed payload of one request, in bytes (5 MB); more is refused with 413 */
export const MAX_PAYLOAD_BYTES = 5_000_000;
/** one log, in bytes (1 MB); datadog truncates larger logs rather than refusing them */
export const MAX_LOG_BYTES = 1_000_000;
/** logs with a timestamp older than this (18 h) are not indexed as current */
export const TIMESTAMP_WINDOW_MS = 18 * 60 * 60 * 1000;

/** the datadog sites that have a logs intake */
export const SITES = [
  'datadoghq.com', // US1
  'us3.datadoghq.com',
  'us5.datadoghq.com',
  'datadoghq.eu',
  'ap1.datadoghq.com',
  'ap2.datadoghq.com',
  'uk1.datadoghq.com',
  'ddog-gov.com',
  'us2.ddog-gov.com',
] as const;

export type DatadogSite = (typeof SITES)[number];

export const DEFAULT_SITE: DatadogSite = 'datadoghq.com';

/** bytes the json array adds around n entries: `[`, `]` and n - 1 commas */
export function arrayOverhead(entries: number): number {
  return entries <= 0 ? 2 : entries + 1;
}
