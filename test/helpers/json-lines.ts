// a child process's stdout read as json lines (the forwarder logs with pino), and waiting for one of them: shared by
// the tests' runForwarder and the benchmarks' spawnNode. a line that is not json is kept as { msg, unparsed: true }.
import type { Readable } from 'node:stream';

export type JsonLine = Record<string, any>;

export interface JsonLines {
  /** lines read so far (the oldest dropped past `maxKept`) */
  lines: JsonLine[];
  /**
   * the first line, read already or still to come, that matches; rejects after timeoutMs with timeoutMessage(), or
   * with exitMessage(code) when the process exits first
   */
  waitFor(
    pred: (l: JsonLine) => boolean,
    timeoutMs: number,
    exited: Promise<number | string>,
    messages: { timeout(): string; exit(code: number | string): string },
  ): Promise<JsonLine>;
}

export function readJsonLines(stream: Readable, maxKept = Infinity): JsonLines {
  const lines: JsonLine[] = [];
  const waiters: Array<{ pred: (l: JsonLine) => boolean; resolve: (l: JsonLine) => void }> = [];
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let obj: JsonLine;
      try {
        obj = JSON.parse(text);
      } catch {
        obj = { msg: text, unparsed: true };
      }
      lines.push(obj);
      if (lines.length > maxKept) lines.splice(0, Math.ceil(maxKept / 2));
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(obj)) {
          waiters[i]!.resolve(obj);
          waiters.splice(i, 1);
        }
      }
    }
  });
  return {
    lines,
    waitFor(pred, timeoutMs, exited, messages) {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(messages.timeout())), timeoutMs);
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        void exited.then((code) => {
          clearTimeout(t);
          reject(new Error(messages.exit(code)));
        });
      });
    },
  };
}
