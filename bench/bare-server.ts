// the floor of this stack, run as its own process so its cpu can be read from /proc: fastify 5 over https with
// the ingest's tls settings (requestCert, rejectUnauthorized, the same certificate and key files), answering every
// POST with an empty 200. fastify's defaults otherwise (its json body parser included). with --h2: http2 with
// allowHTTP1, offering h2 and http/1.1 over alpn. with --durable <dir>: the durable floor, each POST's body is put
// in a classic-level store with group commit (one { sync: true } batch for all bodies that arrived meanwhile)
// before the 200, and nothing else (no decoding, routing or delivery). with --durable-file <dir>: the file floor,
// the cheapest durable server we know how to write: no database, each group's bodies written as lines into a
// file of zeros written and synced before the run (an overwrite needs no size change, so fdatasync skips the
// journal) and one fdatasync before the group's 200s. with --durable <dir> --written: the written floor, the same
// leveldb group commit without sync (the 200 once leveldb has written its log to the os, as ingest.ack = written). prints one json line with the port; exits on SIGTERM or
// when its parent goes away (stdin closes).
import { fdatasync, openSync, readFileSync, write as fsWrite, writeSync, fsyncSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { ClassicLevel } from 'classic-level';

const { values } = parseArgs({
  options: {
    ca: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    h2: { type: 'boolean', default: false },
    durable: { type: 'string' },
    written: { type: 'boolean', default: false },
    'durable-file': { type: 'string' },
    'file-mib': { type: 'string', default: '256' },
  },
});
if (!values.ca || !values.cert || !values.key) throw new Error('usage: bare-server --ca F --cert F --key F [--h2]');

const tls = {
  ca: readFileSync(values.ca, 'utf8'),
  cert: readFileSync(values.cert, 'utf8'),
  key: readFileSync(values.key, 'utf8'),
  requestCert: true,
  rejectUnauthorized: true,
};

// fastify's types differ per transport; the routes below use nothing transport-specific
const app = (values.h2
  ? Fastify({ http2: true, https: { ...tls, allowHTTP1: true }, logger: false, keepAliveTimeout: 72_000 })
  : Fastify({
      https: { ...tls, ALPNProtocols: ['http/1.1'] },
      logger: false,
      keepAliveTimeout: 72_000,
    })) as unknown as FastifyInstance;

/** group commit: bodies that arrive while a write is under way go out together in the next one */
function groupCommit(writeGroup: (values: string[]) => Promise<void>): (value: string, done: () => void) => void {
  let queue: Array<{ value: string; done: () => void }> = [];
  let writing = false;
  const run = async (): Promise<void> => {
    writing = true;
    while (queue.length > 0) {
      const ops = queue;
      queue = [];
      await writeGroup(ops.map((o) => o.value));
      for (const o of ops) o.done();
    }
    writing = false;
  };
  return (value, done) => {
    queue.push({ value, done });
    if (!writing) setImmediate(() => void run());
  };
}

if (values['durable-file']) {
  const fd = openSync(join(values['durable-file'], 'wal'), 'w+');
  const size = Number(values['file-mib']) * 1024 * 1024;
  const zeros = Buffer.alloc(1024 * 1024);
  for (let at = 0; at < size; at += zeros.length) writeSync(fd, zeros);
  fsyncSync(fd);
  let pos = 0;
  let warned = false;
  const commit = groupCommit(async (bodies) => {
    const buf = Buffer.from(bodies.join('\n') + '\n');
    await new Promise<void>((resolve, reject) =>
      fsWrite(fd, buf, 0, buf.length, pos, (err) => (err ? reject(err) : resolve())),
    );
    pos += buf.length;
    if (pos > size && !warned) {
      warned = true;
      process.stderr.write(
        `bare-server: past the ${values['file-mib']} MiB written beforehand; appends from here (slower)\n`,
      );
    }
    await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  });
  app.post('/*', (req, reply) => {
    commit(JSON.stringify(req.body), () => reply.code(200).send());
  });
} else if (values.durable) {
  const db = new ClassicLevel<string, string>(values.durable);
  await db.open();
  let seq = 0;
  const commit = groupCommit((bodies) =>
    db.batch(
      bodies.map((value) => ({ type: 'put' as const, key: String(seq++).padStart(16, '0'), value })),
      { sync: !values.written },
    ),
  );
  app.post('/*', (req, reply) => {
    commit(JSON.stringify(req.body), () => reply.code(200).send());
  });
} else {
  app.post('/*', (_req, reply) => {
    reply.code(200).send();
  });
}
app.get('/*', (_req, reply) => {
  reply.code(200).send();
});

await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
process.stdout.write(JSON.stringify({ msg: 'bare listening', port, h2: values.h2 }) + '\n');

const stop = () => {
  void app.close().then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
