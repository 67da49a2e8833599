// results of `check` and how they print: one line per check (`PASS  ingest.cert  ...`), then a summary. pure.

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  status: CheckStatus;
  /** what was checked, e.g. `ingest.cert` */
  name: string;
  /** what was found, and for warn/fail what to do; never a secret */
  detail: string;
  /**
   * a fail that start cannot run past (a file not set, unreadable or not parsing, a key that does not open or does
   * not match): start stops with it. other fails (an expired CA in a bundle, a usage, a chain) only warn at start,
   * as they did before start ran these checks
   */
  blocking?: true;
}

const NAME_WIDTH = 18;

export const result = (status: CheckStatus, name: string, detail: string): CheckResult => ({ status, name, detail });

/** a fail that start cannot run past (see CheckResult.blocking) */
export const blocker = (name: string, detail: string): CheckResult => ({
  status: 'fail',
  name,
  detail,
  blocking: true,
});

export function formatResult(r: CheckResult): string {
  return `${r.status.toUpperCase().padEnd(4)}  ${r.name.padEnd(NAME_WIDTH)}  ${r.detail}`;
}

export function countResults(results: readonly CheckResult[]): Record<CheckStatus, number> {
  const n: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of results) n[r.status] += 1;
  return n;
}

export function summaryLine(results: readonly CheckResult[]): string {
  const n = countResults(results);
  const counts = `${n.pass} passed, ${n.warn} ${n.warn === 1 ? 'warning' : 'warnings'}, ${n.fail} failed, ${n.skip} skipped`;
  return n.fail > 0 ? `check failed: ${counts}` : `check passed: ${counts}`;
}

/** an ISO time without milliseconds, for messages */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
