// the compose example: the forwarder wired like the image expects (spool volume, config mount, secrets), the
// handler pointed at it, and both config files read by real loaders: ours, and the routing of the tags the
// handler will post.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseToml } from 'smol-toml';
import { compilePattern } from '../../src/router/pattern.js';
import { loadConfig } from '../../src/config/load.js';
import { execForm, instructions, knownEnvNames, loadExample, parseDockerfile, readRepoFile, repoRoot, yamlKeys } from './assets.js';

const compose = readRepoFile('deploy/compose/docker-compose.yml');
const keys = new Set(yamlKeys(compose).map((k) => k.path));
const image = parseDockerfile(readRepoFile('Dockerfile')).at(-1)!;
const imageVolume = execForm(instructions(image, 'VOLUME')[0]!.args)![0]!;
const imageConfig = execForm(instructions(image, 'CMD')[0]!.args)![2]!;

/** the block of a service (lines indented under it) */
function service(name: string): string {
  const lines = compose.split('\n');
  const start = lines.findIndex((l) => l === `  ${name}:`);
  assert.ok(start >= 0, `service ${name}`);
  const end = lines.findIndex((l, i) => i > start && /^ {0,2}\S/.test(l));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}
const listItems = (block: string, key: string): string[] => {
  const m = new RegExp(`\\n {4}${key}:\\n((?: {6}(?:- .*|#.*)\\n)+)`).exec(block + '\n');
  return m ? m[1]!.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('- ')).map((l) => l.slice(2).replace(/^"|"$/g, '')) : [];
};

test('the forwarder service: spool on a named volume at the image volume, config at the image config path', () => {
  const fw = service('forwarder');
  const volumes = listItems(fw, 'volumes');
  assert.ok(volumes.includes(`spool:${imageVolume}`), 'the spool volume');
  assert.ok(keys.has('volumes.spool'), 'the named volume is declared');
  assert.ok(volumes.includes(`./forwarder.toml:${imageConfig}:ro`), 'the config where the image command reads it');
  assert.match(fw, /build:\s*\n\s*context: \.\.\/\.\./, 'built from the repository');
  assert.match(fw, /stop_grace_period: (\d+)s/);
  assert.ok(Number(/stop_grace_period: (\d+)s/.exec(fw)![1]) >= 30, 'time to drain');
  assert.ok(listItems(fw, 'cap_drop').includes('ALL'));
  assert.match(fw, /read_only: true/);
  // the admin port only on the host's loopback
  for (const p of listItems(fw, 'ports')) assert.match(p, /^127\.0\.0\.1:/);
  const env = [...fw.matchAll(/^ {6}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
  assert.ok(env.length > 0);
  for (const name of env) assert.ok(knownEnvNames().has(name), `${name} is an env var of the forwarder`);
});

test('secrets: declared from files, given to the forwarder, and read by its config from /run/secrets', () => {
  const used = listItems(service('forwarder'), 'secrets');
  assert.ok(used.includes('dd_api_key'));
  const config = readRepoFile('deploy/compose/forwarder.toml');
  for (const s of used) {
    assert.ok(keys.has(`secrets.${s}.file`), `secret ${s} declared with a file`);
    assert.ok(config.includes(`"/run/secrets/${s}"`), `forwarder.toml reads /run/secrets/${s}`);
  }
});

test('forwarder.toml loads with the forwarder\'s own loader (storage from the image env, site from DD_SITE)', () => {
  const { config, files } = loadExample(readRepoFile('deploy/compose/forwarder.toml'), {
    TDF_STORAGE: imageVolume, DD_SITE: 'datadoghq.eu',
  });
  assert.equal(config.storage, imageVolume);
  assert.equal(config.ingest.enabled, true);
  assert.equal(config.ingest.port, 8888);
  assert.equal(config.datadog.apiKeyOrigin, files.get('/run/secrets/dd_api_key'), 'the key from the secret file');
  assert.ok(config.ingest.keyPassphrase, 'the passphrase from the secret file');
  assert.equal(config.datadog.site, 'datadoghq.eu');
});

test('the handler posts to the forwarder service, and the forwarder routes what it posts', () => {
  const handler = service('event-handler');
  assert.match(handler, /depends_on:\s*\n\s*forwarder:\s*\n\s*condition: service_healthy/, 'waits for the image health check');
  assert.match(handler, /image: public\.ecr\.aws\/gravitational\/teleport-plugin-event-handler:/);
  const mounts = listItems(handler, 'volumes');
  const toml = parseToml(readRepoFile('deploy/compose/teleport-event-handler.toml')) as any;
  const fluentd = toml.forward.fluentd;
  const url = new URL(fluentd.url);
  assert.equal(url.protocol, 'https:');
  assert.equal(url.hostname, 'forwarder', 'the compose service name');
  const fw = loadExample(readRepoFile('deploy/compose/forwarder.toml'), { TDF_STORAGE: imageVolume }).config;
  assert.equal(Number(url.port), fw.ingest.port);
  // the handler's own files are mounted where its config says
  for (const f of [fluentd.ca, fluentd.cert, fluentd.key, toml.teleport.identity]) {
    assert.ok(mounts.some((m) => f.startsWith(m.split(':')[1]!)), `${f} is mounted into the handler`);
  }
  const command = JSON.parse(/command: (\[.*\])/.exec(handler)![1]!) as string[];
  assert.ok(mounts.some((m) => m.split(':')[1] === command[2]), 'its config is mounted where its command reads it');

  // tags: the url path (test.log) and session-url + .<sid>.log, as the handler posts them
  const rules = fw.routing.rules;
  const route = (tag: string) => rules.find((r) => compilePattern(r.pattern)(tag));
  const eventsTag = url.pathname.slice(1).replace(/\//g, '.');
  assert.equal(route(eventsTag)?.type, 'datadog', `${eventsTag} is shipped`);
  assert.equal(route(eventsTag)?.source, 'teleport', 'as source teleport (the Datadog pipeline filters on it)');
  const sessionTag = `${new URL(fluentd['session-url']).pathname.slice(1)}.8d57a9d5-3848-5ce2-a326-85eb4a6d2eed.log`;
  assert.ok(route(sessionTag), `${sessionTag} has a rule`);
  // the handler's toml is also one our poller accepts (its keys are ours too)
  const asOurs = loadConfig({ file: 'deploy/compose/teleport-event-handler.toml', env: { DD_API_KEY: 'x' } as NodeJS.ProcessEnv, partial: true, cwd: repoRoot });
  assert.equal(asOurs.teleport.eventsTag, eventsTag);
});


test('README step 2 leaves every file the forwarder reads readable by its uid, and the secret ones by nobody else', () => {
  const readme = readRepoFile('deploy/compose/README.md');
  const step = readme.slice(readme.indexOf('\n2. '), readme.indexOf('\n3. '));
  const block = /```sh\n([\s\S]*?)```/.exec(step)?.[1];
  assert.ok(block, 'a shell block in step 2');
  const uid = Number(/--uid (\d+)/.exec(readRepoFile('Dockerfile'))![1]);
  // as `configure` leaves them (run as root through docker run, every file 0600), and the secrets printf writes
  const files = new Map<string, { owner: number; mode: number }>();
  for (const f of ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'client.crt', 'client.key']) files.set(`certs/${f}`, { owner: 0, mode: 0o600 });
  const glob = (pattern: string) => {
    const re = new RegExp(`^${pattern.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`);
    const hit = [...files.keys()].filter((f) => re.test(f));
    assert.ok(hit.length > 0, `${pattern} matches a file`);
    return hit;
  };
  for (const command of block.split(/\n|&&/).map((c) => c.trim().replace(/^sudo /, ''))) {
    const words = command.split(/\s+/);
    const made = /> (secrets\/\S+)$/.exec(command);
    if (made) files.set(made[1]!, { owner: 1000, mode: 0o644 });
    else if (words[0] === 'chown') for (const f of words.slice(2).flatMap(glob)) files.get(f)!.owner = Number(words[1]);
    else if (words[0] === 'chmod') for (const f of words.slice(2).flatMap(glob)) files.get(f)!.mode = parseInt(words[1]!, 8);
  }
  const readable = (f: string) => {
    const st = files.get(f);
    assert.ok(st, `${f} exists`);
    return (st.owner === uid && (st.mode & 0o400) !== 0) || (st.mode & 0o004) !== 0;
  };
  // what the forwarder reads: forwarder.toml's ingest files (certs/ is mounted beside it) and its secrets
  const config = parseToml(readRepoFile('deploy/compose/forwarder.toml')) as { ingest: Record<string, string> };
  for (const k of ['ca', 'cert', 'key']) assert.ok(readable(config.ingest[k]!), `ingest.${k} (${config.ingest[k]}) readable by uid ${uid}`);
  for (const s of listItems(service('forwarder'), 'secrets')) assert.ok(readable(`secrets/${s}`), `secret ${s} readable by uid ${uid}`);
  for (const f of ['certs/server.key', ...listItems(service('forwarder'), 'secrets').map((s) => `secrets/${s}`)]) {
    assert.equal(files.get(f)!.mode & 0o077, 0, `${f} readable by its owner only`);
  }
  // the handler verifies the forwarder with ca.crt and presents client.crt
  assert.ok((files.get('certs/ca.crt')!.mode & 0o004) !== 0 && (files.get('certs/client.crt')!.mode & 0o004) !== 0);
});
