// what the parts of one poller run share (the live poller's, or a backfill job's): the exporter and the
// sessions take this one object instead of a list of clients, stores, clocks and settings.
import type { Logger } from '../../log.js';
import type { AuditLogClient } from './client.js';
import type { Explain } from './explain.js';
import type { ResolvedOptions } from './options.js';
import type { StateStore } from './state.js';
import type { StreamWatch } from './streams.js';

export interface PollerContext {
  client: AuditLogClient;
  /** the cursors, and the one way records leave the poller (commit: records and cursor in one batch) */
  store: StateStore;
  logger: Logger;
  now: () => number;
  /** aborted on stop, or once the spool closes */
  signal: AbortSignal;
  /** the resolved settings (options.ts) */
  options: Readonly<ResolvedOptions>;
  /** what a failed call means (explain.ts); default: without the identity and address */
  explain?: Explain;
  /** open streams, for status and the quiet-stream warning */
  streams?: StreamWatch;
}
