// the systemd unit: its hardening and its wiring (user, state directory, credential, signals) read from the file,
// and `systemd-analyze verify` when this machine has it (it works without systemd running).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseUnit, unitValues, unitEnvironment, envFileNames, knownEnvNames, loadExample, readRepoFile, repoRoot, NODE_ENV_VARS } from './assets.js';

const unitFile = join(repoRoot, 'deploy/systemd/teleport-datadog-forwarder.service');
const text = readRepoFile('deploy/systemd/teleport-datadog-forwarder.service');
const unit = parseUnit(text);
const one = (key: string, section = 'Service'): string => {
  const v = unitValues(unit, section, key);
  assert.equal(v.length, 1, `${section}.${key} set once`);
  return v[0]!;
};
const environment = (): Map<string, string> => unitEnvironment(unit);

test('runs the package bin under node as a dedicated user, with the spool in its state directory', () => {
  const pkg = JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string> };
  const exec = one('ExecStart').split(/\s+/);
  assert.match(exec[0]!, /^\/.*\/node$/);
  assert.equal(exec[1], `/opt/teleport-datadog-forwarder/${pkg.bin['teleport-datadog-forwarder']}`);
  assert.deepEqual(exec.slice(2, 4), ['start', '--config']);
  const dynamic = unitValues(unit, 'Service', 'DynamicUser')[0] === 'yes';
  const user = unitValues(unit, 'Service', 'User')[0];
  assert.ok(dynamic || (user && user !== 'root' && user !== '0'), 'DynamicUser= or a dedicated non-root User=');
  if (user) {
    const sysusers = readRepoFile('deploy/systemd/teleport-datadog-forwarder.sysusers');
    assert.match(sysusers, new RegExp(`^u ${user} `, 'm'), 'the sysusers.d file creates that user');
  }
  const state = one('StateDirectory');
  assert.equal(state, 'teleport-datadog-forwarder');
  assert.equal(environment().get('TDF_STORAGE'), `/var/lib/${state}`);
});

test('the API key comes in as a credential or from an environment file, never written in the unit', () => {
  const cred = unitValues(unit, 'Service', 'LoadCredential');
  const envFiles = unitValues(unit, 'Service', 'EnvironmentFile');
  assert.ok(cred.length > 0 || envFiles.length > 0);
  if (cred.length > 0) {
    const name = cred[0]!.split(':')[0]!;
    assert.equal(environment().get('TDF_DATADOG_API_KEY_FILE'), `%d/${name}`, 'the forwarder reads the credential systemd passes');
  }
  assert.ok(!environment().has('DD_API_KEY'), 'no key in the unit');
  for (const name of environment().keys()) {
    if (!NODE_ENV_VARS.includes(name)) assert.ok(knownEnvNames().has(name), `${name} is an env var of the forwarder`);
  }
  const example = readRepoFile('deploy/systemd/forwarder.env.example');
  const names = envFileNames(example);
  assert.ok(names.includes('DD_SITE'));
  for (const name of names) assert.ok(knownEnvNames().has(name), `${name} in forwarder.env.example is an env var of the forwarder`);
  assert.doesNotMatch(example, /^DD_API_KEY=\S/m, 'no key in the example');
});

test('forwarder.toml.example loads with the forwarder\'s loader, given what the unit sets', () => {
  const env = Object.fromEntries([...environment()].map(([k, v]) => [k, v.replace('%d', '/run/credentials/x')]));
  const { config, files } = loadExample(readRepoFile('deploy/systemd/forwarder.toml.example'), env);
  assert.equal(config.storage, '/var/lib/teleport-datadog-forwarder');
  assert.equal(config.ingest.enabled, true);
  assert.ok(config.ingest.keyPassphrase);
  assert.equal(config.datadog.apiKeyOrigin, files.get('/run/credentials/x/dd-api-key'), 'the key from the credential');
});

test('stops with SIGTERM and time to drain; restarts on failure but not on a config error', () => {
  assert.equal(one('KillSignal'), 'SIGTERM');
  const stop = /^(\d+)(s|min)?$/.exec(one('TimeoutStopSec'));
  assert.ok(stop, 'TimeoutStopSec in seconds or minutes');
  assert.ok(Number(stop[1]) * (stop[2] === 'min' ? 60 : 1) >= 30, 'at least 30 s to finish in-flight deliveries');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('RestartPreventExitStatus'), '2');
  assert.match(one('ExecReload'), /kill -HUP \$MAINPID/);
});

test('hardening: read-only system, no capabilities, a system call allow list; W+X memory allowed for V8, and said why', () => {
  const expect: Record<string, string> = {
    ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', NoNewPrivileges: 'yes', CapabilityBoundingSet: '',
    RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX', SystemCallFilter: '@system-service', MemoryDenyWriteExecute: 'no',
    PrivateDevices: 'yes', ProtectKernelTunables: 'yes', ProtectKernelModules: 'yes', ProtectControlGroups: 'yes',
    RestrictNamespaces: 'yes', RestrictSUIDSGID: 'yes', LockPersonality: 'yes', SystemCallArchitectures: 'native',
  };
  for (const [k, v] of Object.entries(expect)) assert.equal(one(k), v, k);
  const lines = text.split('\n');
  const mdwe = lines.findIndex((l) => l.startsWith('MemoryDenyWriteExecute='));
  assert.match(lines[mdwe - 1]!, /^#.*(V8|JIT)/, 'a comment says why W+X memory stays allowed');
  assert.equal(one('WantedBy', 'Install'), 'multi-user.target');
});

function systemdAnalyze(args: string[]): Promise<{ code: number; out: string } | null> {
  return new Promise((resolve) => {
    execFile('systemd-analyze', args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(null);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: stdout + stderr });
    });
  });
}

test('systemd-analyze verify finds nothing to say (where systemd is installed)', async (t) => {
  const res = await systemdAnalyze(['verify', unitFile]);
  if (!res) return t.skip('systemd-analyze is not installed');
  const node = one('ExecStart').split(/\s+/)[0]!;
  if (!existsSync(node)) return t.skip(`${node} does not exist on this machine; verify would stop at it`);
  assert.equal(res.out.trim(), '', 'no warnings (unknown keys and bad values are only warned about)');
  assert.equal(res.code, 0);
});

test('forwarder.toml.example names the unit\'s storage itself, so `spool` and `status` with --config alone find the spool', () => {
  const { config } = loadExample(readRepoFile('deploy/systemd/forwarder.toml.example'), { DD_API_KEY: 'x' });
  assert.equal(config.storage, `/var/lib/${one('StateDirectory')}`);
  assert.equal(config.storage, environment().get('TDF_STORAGE'));
});

test('the README\'s admin commands run as the unit does: its user, env file, credential source, node and config', () => {
  const readme = readRepoFile('deploy/systemd/README.md');
  const section = readme.slice(readme.indexOf('## As an admin'));
  assert.ok(readme.includes('## As an admin'), 'an "As an admin" section');
  const fn = /^tdf\(\) \{\n[\s\S]*?^\}$/m.exec(section)?.[0];
  assert.ok(fn, 'a tdf() shell function');
  const exec = one('ExecStart').split(/\s+/);
  const credential = unitValues(unit, 'Service', 'LoadCredential')[0]!.split(':').slice(1).join(':');
  const envFile = unitValues(unit, 'Service', 'EnvironmentFile')[0]!.replace(/^-/, '');
  assert.ok(fn.includes(`runuser -u ${one('User')} -- ${exec[0]} ${exec[1]} "$@"`), 'the unit\'s user, node and script');
  assert.ok(fn.includes(`--config ${exec[4]}`), 'the unit\'s config file');
  assert.ok(fn.includes(`DD_API_KEY=$(cat ${credential})`), 'the key from the file the credential is loaded from');
  assert.ok(fn.includes(`. ${envFile};`), 'the unit\'s environment file');
  for (const cmd of ['tdf check', 'tdf status', 'tdf spool stats']) assert.match(section, new RegExp(`^${cmd}\\b`, 'm'), cmd);
});
