// backfill jobs as lines a person reads (status, backfill ls, the progress of the backfill command). pure
import type { JobView } from './manager.js';

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

/** seconds as "1h 2m", "3m 4s", "5s" */
export function eta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${s}s`;
}

/** one job: id, state, range, progress, events, rate and eta while it runs */
export function jobLine(j: JobView): string {
  const range = `${new Date(j.from).toISOString()} .. ${new Date(j.to).toISOString()}`;
  const pct = `${Math.floor(j.progress * 100)}%`;
  const parts = [`${j.id}  ${j.state.padEnd(9)} ${range}  ${pct}`, `${n(j.events)} events`];
  if (j.sessions) parts.push(`${n(j.sessionEvents)} session events`);
  if (j.state === 'running') {
    if (j.rate !== null) parts.push(`${n(j.rate)}/s`);
    parts.push(j.etaSeconds === null ? 'eta unknown' : `eta ${eta(j.etaSeconds)}`);
  }
  if (j.sessionsLeft > 0) parts.push(`${j.sessionsLeft} recordings not read`);
  let line = parts.join(', ');
  // eslint-disable-next-line no-control-regex
  if (j.lastError && j.state !== 'done')
    line += `; last error: ${j.lastError.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 300)}`;
  return line;
}

/** a progress bar for a terminal: [#####-----] 50% 1,234 events 2,000/s eta 3m 2s */
export function progressBar(j: JobView, width = 30): string {
  const filled = Math.round(j.progress * width);
  const rate = j.rate === null ? '' : ` ${n(j.rate)}/s`;
  const left = j.state === 'running' ? (j.etaSeconds === null ? '' : ` eta ${eta(j.etaSeconds)}`) : ` ${j.state}`;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(j.progress * 100)).padStart(3)}% ${n(j.events + j.sessionEvents)} events${rate}${left}`;
}
