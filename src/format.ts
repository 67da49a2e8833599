// the formatters every layer shares: durations and sizes as people and config files write them, addresses.
// pure, and importing nothing, so that the router, the status views and configure can all use them.

/** "3 d 4 h", "5 h 12 m", "42 s" */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} m`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** milliseconds -> a go duration ("16s", "24h"), as config files and teleport-event-handler write them */
export function goDuration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** bytes -> "1GiB", "32MiB", or the number: a size as a config file writes it */
export function sizeText(n: number): string | number {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (n % size === 0) return `${n / size}${unit}`;
  }
  return n;
}

/** bytes -> "12.5 MiB": a size for people to read */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** host:port, with an ipv6 host in brackets */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** text from the outside (events, error bodies) must not drive the terminal: control characters are escaped */
export function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
