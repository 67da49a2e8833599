// general settings: storage, the forwarder's own logs, how a run ends
import type { Setting } from './setting.js';

export const GENERAL_SETTINGS = [
  {
    key: 'storage',
    type: 'path',
    default: './storage',
    env: ['FDFWD_STORAGE'],
    doc: 'Directory of the LevelDB spool and the poller cursors. Keep it on a persistent volume: it holds every record until Datadog accepted it.',
  },
  {
    key: 'hostname',
    type: 'string',
    doc: "Datadog `hostname` for logs whose match rule sets none. Default: this machine's host name.",
  },
  {
    key: 'log-level',
    type: 'enum',
    default: 'info',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
    doc: "Level of the forwarder's own logs (JSON lines on stdout).",
  },
  {
    key: 'debug',
    type: 'bool',
    default: false,
    short: 'd',
    env: ['FDFWD_DEBUG'],
    doc: 'Same as log-level = "debug" (teleport-event-handler\'s flag).',
  },
  {
    key: 'dry-run',
    type: 'bool',
    default: false,
    doc: 'Read and route events but ship and store nothing: log per batch what would be shipped or dropped, with a routed sample. The poller goes on from the stored cursors (read, then the storage is closed), or from now beside a running forwarder; no user is locked. The ingest answers 503 to what it would ship, since it keeps nothing.',
  },
  {
    key: 'exit-on-last-event',
    type: 'bool',
    default: false,
    doc: 'Exit 0 once the poller has caught up with the audit log and everything spooled was delivered; exit 1 if Teleport keeps refusing it (a role without the rules, an expired or untrusted identity) over 3 retries and at least 30 s, or refuses its session recordings.',
  },
] as const satisfies readonly Setting[];
