// loggers for tests: one that says nothing, and one that keeps every line to look at.
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export { silentLogger } from '../../src/log.js';

export interface LogCapture {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  has(msg: RegExp): boolean;
}

/** a pino logger (debug and up) whose JSON lines are parsed into `lines` */
export function captureLogs(): LogCapture {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  return { logger, lines, has: (re) => lines.some((l) => re.test(String(l.msg))) };
}
