// the container image, checked without a docker engine: the Dockerfile's facts (stages, user, volume, health
// check, signals, entry point), the build context it needs, and its start command run outside a container with
// the image's env vars, the paths inside the image mapped to temp dirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { startFakeIntake } from '../../src/fakes/intake.js';
import { runForwarder, writeIngestConfig, waitFor } from '../helpers/forwarder.js';
import { writeTlsFiles, MtlsClient } from '../helpers/mtls.js';
import {
  parseDockerfile, execForm, imageEnv, parseHealthcheck, instructions, dockerignoreExcludes, knownEnvNames,
  readRepoFile, repoRoot, type Stage, NODE_ENV_VARS, launchEnv,
} from './assets.js';

const dockerfile = readRepoFile('Dockerfile');
const stages = parseDockerfile(dockerfile);
const runtime = stages[stages.length - 1]!;
const pkg = JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string>; files: string[]; version: string };

const one = (stage: Stage, keyword: string): string => {
  const found = instructions(stage, keyword);
  assert.equal(found.length, 1, `the ${stage.name ?? 'last'} stage has exactly one ${keyword}`);
  return found[0]!.args;
};

test('two stages on node 20 bookworm-slim: build with dev deps, run with production deps only', () => {
  assert.equal(stages.length, 2);
  for (const s of stages) assert.equal(s.base, 'node:20-bookworm-slim');
  const build = stages[0]!;
  const runs = instructions(build, 'RUN').map((i) => i.args).join('\n');
  assert.match(runs, /\bnpm ci\b/);
  assert.match(runs, /\bnpm run build\b/);
  assert.match(runs, /npm (prune|ci) [^\n]*--omit=dev/, 'dev dependencies are dropped before the runtime stage copies node_modules');
  // the build runs after the sources are copied, and npm ci before them (a layer that survives source edits)
  const at = (k: string, re: RegExp) => build.instructions.findIndex((i) => i.keyword === k && re.test(i.args));
  assert.ok(at('RUN', /npm ci/) < at('COPY', /^src\b/));
  assert.ok(at('COPY', /^src\b/) < at('RUN', /npm run build/));
  // nothing in the runtime stage installs or compiles: the leveldb binding comes prebuilt
  const runtimeRuns = instructions(runtime, 'RUN').map((i) => i.args).join('\n');
  assert.doesNotMatch(runtimeRuns, /\b(npm (ci|install)|apt-get|node-gyp|make|g\+\+)\b/);
  assert.match(runtimeRuns, /classic-level/, 'the runtime stage proves the binding loads');
});

test('the runtime stage holds what the npm package ships: dist/src, proto, fixtures, production node_modules', () => {
  const copies = instructions(runtime, 'COPY').map((i) => i.args);
  const dest = (src: string) => copies.some((c) => new RegExp(`(^|\\s|/)${src.replace(/\//g, '\\/')}\\s+\\./${src.replace(/\//g, '\\/')}$`).test(c));
  for (const entry of pkg.files) assert.ok(dest(entry), `runtime stage copies ${entry} to /app/${entry}`);
  assert.ok(dest('node_modules'));
  assert.ok(copies.some((c) => /package\.json/.test(c)), 'package.json (the binding and projectRoot() look for it)');
  assert.equal(one(runtime, 'WORKDIR'), '/app');
});

test('runs as a non-root user with uid 10001, spool on a volume, ports, health check, stop signal', () => {
  const user = one(runtime, 'USER');
  const uid = user.split(':')[0]!;
  assert.equal(uid, '10001', 'numeric uid, so kubernetes runAsNonRoot can verify it');
  assert.notEqual(user.split(':')[1], '0', 'not the root group');
  // USER comes after every RUN: nothing later runs as root
  const userAt = runtime.instructions.findIndex((i) => i.keyword === 'USER');
  assert.ok(runtime.instructions.slice(userAt).every((i) => i.keyword !== 'RUN'));
  assert.match(instructions(runtime, 'RUN').map((i) => i.args).join('\n'), /useradd [^\n]*--uid 10001/);

  const env = imageEnv();
  const volume = execForm(one(runtime, 'VOLUME')) ?? one(runtime, 'VOLUME').split(/\s+/);
  assert.deepEqual(volume, ['/var/lib/teleport-datadog-forwarder']);
  assert.equal(env.TDF_STORAGE, volume[0], 'the spool is on the volume');
  for (const name of Object.keys(env)) {
    if (!NODE_ENV_VARS.includes(name)) assert.ok(knownEnvNames().has(name), `${name} is an env var the forwarder reads`);
  }
  assert.deepEqual(one(runtime, 'EXPOSE').split(/\s+/).sort(), ['8888', '8889']);
  assert.equal(one(runtime, 'STOPSIGNAL'), 'SIGTERM');

  const hc = parseHealthcheck(one(runtime, 'HEALTHCHECK'));
  assert.ok(Array.isArray(hc.cmd), 'exec form: no shell needed');
  assert.equal(hc.cmd[0], 'node', 'node itself: no curl in slim images');
  assert.match(hc.cmd.join(' '), /127\.0\.0\.1:.*8889.*\/healthz/);
  for (const opt of ['interval', 'timeout', 'start-period', 'retries']) assert.ok(hc.options[opt], `HEALTHCHECK --${opt}`);
});

test('entry point is the package bin under node; the default command starts with the mounted config', () => {
  const entrypoint = execForm(one(runtime, 'ENTRYPOINT'));
  assert.deepEqual(entrypoint, ['node', `/app/${pkg.bin['teleport-datadog-forwarder']}`]);
  assert.deepEqual(execForm(one(runtime, 'CMD')), ['start', '--config', '/etc/teleport-datadog-forwarder/forwarder.toml']);
});

test('.dockerignore lets in what the Dockerfile copies from the context, and keeps host builds out', () => {
  const ignore = readRepoFile('.dockerignore');
  const fromContext = stages.flatMap((s) => instructions(s, 'COPY')).filter((c) => !c.args.startsWith('--from'))
    .flatMap((c) => c.args.split(/\s+/).slice(0, -1));
  assert.ok(fromContext.length >= 5);
  for (const src of fromContext) {
    assert.ok(existsSync(join(repoRoot, src)), `${src} exists in the repository`);
    assert.equal(dockerignoreExcludes(ignore, src), false, `${src} reaches the build context`);
  }
  assert.equal(dockerignoreExcludes(ignore, 'src/cli/main.ts'), false);
  for (const kept of ['node_modules', 'node_modules/classic-level/index.js', 'dist', '.git', 'test', 'storage']) {
    assert.equal(dockerignoreExcludes(ignore, kept), true, `${kept} stays out of the build context`);
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** the HEALTHCHECK command, run here; resolves with its exit code */
function runHealthcheck(env: Record<string, string>): Promise<number> {
  const hc = parseHealthcheck(one(runtime, 'HEALTHCHECK')).cmd as string[];
  return new Promise((resolve) => {
    execFile(process.execPath, hc.slice(1), { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 }, (err) => {
      resolve(err ? (typeof err.code === 'number' ? err.code : -1) : 0);
    });
  });
}

test('the image start command, run outside a container: starts, ships, stops cleanly on the stop signal', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-image-'));
  const tls = writeTlsFiles(dir);
  const apiKey = 'image0123456789abcdef0123456789a';
  const intake = await startFakeIntake({ apiKeys: [apiKey] });
  t.after(async () => {
    await intake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // paths inside the image -> temp paths here: the volume and the mounted config
  const volume = execForm(one(runtime, 'VOLUME'))![0]!;
  const storage = join(dir, 'volume');
  const configPath = execForm(one(runtime, 'CMD'))![2]!;
  // no storage key: the image's TDF_STORAGE must put the spool on the volume
  const config = writeIngestConfig(dir, tls, intake.url, { storage: null });
  const mapPath = (v: string) => (v === configPath ? config : v.startsWith(volume) ? storage + v.slice(volume.length) : v);
  const adminPort = await freePort();
  // a guard: should the image's TDF_STORAGE not take effect, the spool lands here (and the check below fails)
  // rather than in ./storage of whatever directory the test runs in
  const env: Record<string, string> = { DD_API_KEY: apiKey, FDFWD_STORAGE: join(dir, 'not-the-volume') };
  for (const [k, v] of Object.entries(imageEnv())) env[k] = mapPath(v);
  // on a shared machine: loopback and a free port rather than 0.0.0.0:8889
  env.TDF_ADMIN_HOST = '127.0.0.1';
  env.TDF_ADMIN_PORT = String(adminPort);
  const args = execForm(one(runtime, 'CMD'))!.map(mapPath);

  const fw = await runForwarder(args, env);
  t.after(() => fw.stop('SIGKILL'));
  const listening = fw.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('ingest listening'))!;
  assert.ok(!listening.unparsed, 'log lines are JSON');
  assert.equal(typeof listening.port, 'number');
  assert.ok(existsSync(join(storage, 'CURRENT')), 'the LevelDB spool is where TDF_STORAGE points');
  assert.ok(readdirSync(storage).length > 0);

  const client = new MtlsClient(fw.port!, tls);
  t.after(() => client.close());
  const res = await client.post('/test.log', JSON.stringify({ event: 'user.login', code: 'T1000I', user: 'alice', uid: 'img-1', time: new Date().toISOString() }));
  assert.equal(res.status, 200);
  await waitFor(() => intake.logs.some((l) => l.uid === 'img-1'), 'the event at the intake');

  // the admin server listens where the image's env puts it, and the image's health check passes against it
  const adminLine = await fw.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('admin server listening'));
  assert.equal(adminLine.port, adminPort, 'the admin server listens on TDF_ADMIN_PORT');
  assert.equal(await runHealthcheck({ TDF_ADMIN_PORT: String(adminPort) }), 0, 'the image health check passes against the running forwarder');

  const code = await fw.stop(one(runtime, 'STOPSIGNAL') as NodeJS.Signals);
  assert.equal(code, 0, `exit code on ${one(runtime, 'STOPSIGNAL')}; stderr: ${fw.stderr()}`);
  assert.ok(fw.logs.some((l) => typeof l.msg === 'string' && /^stopped\b/.test(l.msg)), 'logged that it stopped');
});

test('the health check command fails when nothing answers', async () => {
  assert.equal(await runHealthcheck({ TDF_ADMIN_PORT: String(await freePort()) }), 1);
});

test('the header\'s docker run example mounts the config and the TLS files it names, and passes the key\'s passphrase', () => {
  const header = dockerfile.split('\n').filter((l) => l.startsWith('#')).map((l) => l.replace(/^# ?/, ''));
  const start = header.findIndex((l) => /^\s*docker run /.test(l));
  assert.ok(start >= 0, 'a docker run example');
  let cmd = '';
  for (let i = start; i < header.length; i++) {
    cmd += header[i]!.replace(/\\$/, ' ');
    if (!header[i]!.endsWith('\\')) break;
  }
  const mounts = [...cmd.matchAll(/-v\s+"?([^"\s]+)"?/g)].map((m) => m[1]!.split(':'));
  const envs = [...cmd.matchAll(/-e\s+(\S+)/g)].map((m) => m[1]!);
  const configPath = execForm(one(runtime, 'CMD'))![2]!;
  assert.ok(mounts.some(([, to]) => to === configPath), 'the config where the image command reads it');
  // the config the header points to names its TLS files relative to itself; each must be under a mount
  assert.match(header.join('\n'), /as deploy\/compose\/forwarder\.toml does/);
  const example = parseToml(readRepoFile('deploy/compose/forwarder.toml')) as { ingest: Record<string, string> };
  for (const k of ['ca', 'cert', 'key']) {
    const inImage = posix.resolve(posix.dirname(configPath), example.ingest[k]!);
    assert.ok(mounts.some(([from, to]) => from !== configPath && inImage.startsWith(to! + '/')), `ingest.${k} (${inImage}) is mounted`);
  }
  assert.ok(envs.includes('DD_API_KEY'));
  assert.ok(envs.includes('TDF_INGEST_KEY_PASSPHRASE') || mounts.some(([, to]) => to!.startsWith('/run/secrets')), 'the key\'s passphrase');
  assert.ok(knownEnvNames().has('TDF_INGEST_KEY_PASSPHRASE'));
});
