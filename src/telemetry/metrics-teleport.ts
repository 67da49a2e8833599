// the metrics of the teleport poller: what it shipped, its sessions, its state and the alerts on a poller that
// reads nothing (last success, failing for, quiet streams, export lag), registered on createMetrics' registry.
import type { TeleportSourceStatus } from '../sources/teleport/source.js';
import type { Readers } from './metric-readings.js';

export function teleportMetrics(
  { counterFrom, gaugeFrom }: Readers,
  teleport: () => TeleportSourceStatus | undefined,
  now: () => number,
): void {
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
        s && (['created', 'running', 'stopped', 'failed'] as const).map((st) => [{ state: st }, s.state === st ? 1 : 0])
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
