// the forwarder's own logs: JSON lines (pino) on stdout, written synchronously (we log per event never, and a
// line logged just before exit must not be lost). secrets never reach a log: known secret fields are
// redacted wherever they appear, and the code never logs key material in the first place.
import { pino, type DestinationStream } from 'pino';
import type { Logger } from '../log.js';

export type { Logger };

const REDACT = [
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'DD-API-KEY',
  '*.DD-API-KEY',
  '*.headers["dd-api-key"]',
  'passphrase',
  '*.passphrase',
  'keyPassphrase',
  '*.keyPassphrase',
  'key',
  '*.key',
  'privateKey',
  '*.privateKey',
];

export function createLogger(options: { level?: string; name?: string } = {}, destination?: DestinationStream): Logger {
  return pino(
    {
      name: options.name ?? 'teleport-datadog-forwarder',
      level: options.level ?? 'info',
      redact: { paths: REDACT, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
