// the floor of this stack, run as its own process so its cpu can be read from /proc: fastify 5 over https with
// the ingest's tls settings (requestCert, rejectUnauthorized, the same certificate and key files), answering every
// POST with an empty 200. fastify's defaults otherwise (its json body parser included). with --h2: http2 with
// allowHTTP1, offering h2 and http/1.1 over alpn. with --durable <dir>: the durable floor, each POST's body is put
// in a classic-level store with group commit (one { sync: true } batch for all bodies that arrived meanwhile)
// before the 200, and nothing else (no decoding, routing or delivery). prints one json line with the port; exits
// on SIGTERM or when its parent goes away (stdin closes).
import { readFileSync } from 'node:fs';
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
  : Fastify({ https: { ...tls, ALPNProtocols: ['http/1.1'] }, logger: false, keepAliveTimeout: 72_000 })) as unknown as FastifyInstance;

if (values.durable) {
  const db = new ClassicLevel<string, string>(values.durable);
  await db.open();
  let queue: Array<{ value: string; done: () => void }> = [];
  let writing = false;
  let seq = 0;
  const write = async (): Promise<void> => {
    writing = true;
    while (queue.length > 0) {
      const ops = queue;
      queue = [];
      await db.batch(ops.map((o) => ({ type: 'put' as const, key: String(seq++).padStart(16, '0'), value: o.value })), { sync: true });
      for (const o of ops) o.done();
    }
    writing = false;
  };
  app.post('/*', (req, reply) => {
    queue.push({ value: JSON.stringify(req.body), done: () => reply.code(200).send() });
    if (!writing) setImmediate(() => void write());
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
