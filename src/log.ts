// the logger every component takes: the part of pino they use, a structured object and then a sentence. the
// process's own (pino, with secrets redacted) is made in telemetry/logger.ts; tests pass pino or silentLogger.

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

/** logs nothing: for components run without a logger */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/**
 * a log line at most once per interval, the lines between counted by the caller: due(t) once the interval has
 * passed since the line marked last (always before the first). times come from the caller's clock.
 */
export class LogInterval {
  private last = -Infinity;
  constructor(readonly intervalMs: number) {}
  due(t: number): boolean {
    return t - this.last >= this.intervalMs;
  }
  /** a line was logged at t */
  mark(t: number): void {
    this.last = t;
  }
  /** when the last line was logged (-Infinity before the first) */
  get lastAt(): number {
    return this.last;
  }
}

/** a logger whose lines all carry these fields: pino's child where there is one */
export function childLogger(logger: Logger, fields: object): Logger {
  const withChild = logger as Logger & { child?: (f: object) => Logger };
  if (typeof withChild.child === 'function') return withChild.child(fields);
  return {
    debug: (obj, msg) => logger.debug({ ...fields, ...obj }, msg),
    info: (obj, msg) => logger.info({ ...fields, ...obj }, msg),
    warn: (obj, msg) => logger.warn({ ...fields, ...obj }, msg),
    error: (obj, msg) => logger.error({ ...fields, ...obj }, msg),
  };
}
