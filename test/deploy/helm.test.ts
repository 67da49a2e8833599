// the helm chart, checked without helm (neither npm nor Debian has it): values documented and used consistently,
// templates well formed as go templates, and the StatefulSet's essentials (spool volume claim, non-root, probes,
// secrets) in place. the checks read the templates as text; each names what broke.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { MATCH_SETTINGS, SETTINGS } from '../../src/config/schema.js';
import { writeTlsFiles } from '../helpers/mtls.js';
import {
  yamlKeys, knownEnvNames, parseDockerfile, instructions, execForm, readRepoFile, repoRoot,
} from './assets.js';

const chartDir = 'deploy/helm/teleport-datadog-forwarder';
const read = (rel: string) => readRepoFile(chartDir, rel);
const templateNames = readdirSync(join(repoRoot, chartDir, 'templates'));
const templates = new Map(templateNames.map((n) => [n, read(`templates/${n}`)]));
const values = read('values.yaml');
const valueKeys = yamlKeys(values);
const valuePaths = new Set(valueKeys.map((k) => k.path));
const sts = templates.get('statefulset.yaml') ?? '';

/** the lines under `key:` (indented deeper), from the first line matching `key` at or after `from` */
function block(text: string, key: RegExp, from = 0): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l, i) => i >= from && key.test(l));
  assert.ok(start >= 0, `no ${key} in template`);
  const indent = lines[start]!.length - lines[start]!.trimStart().length;
  const out = [lines[start]!];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() !== '' && l.length - l.trimStart().length <= indent && !/^\s*\{\{-?\s*(end|else|if|with|range)\b/.test(l)) break;
    out.push(l);
  }
  return out.join('\n');
}

/** the value of a `define` in _helpers.tpl that is a constant (like the storage path) */
function helperConstant(name: string): string {
  const m = new RegExp(`\\{\\{-? define "${name}" -?\\}\\}(.*?)\\{\\{-? end -?\\}\\}`).exec(templates.get('_helpers.tpl') ?? '');
  assert.ok(m, `helper ${name} defined`);
  return m[1]!.trim();
}

const valueOf = (path: string): string => {
  const k = valueKeys.find((v) => v.path === path);
  assert.ok(k, `values.yaml has ${path}`);
  return values.split('\n')[k.line - 1]!.replace(/^[^:]*:\s*/, '').replace(/\s+#.*$/, '').trim();
};

test('Chart.yaml: apiVersion v2, named like its directory, appVersion = the package version', () => {
  const chart = read('Chart.yaml');
  const field = (k: string) => new RegExp(`^${k}:\\s*"?([^"\\n]+)"?\\s*$`, 'm').exec(chart)?.[1];
  assert.equal(field('apiVersion'), 'v2');
  assert.equal(field('name'), 'teleport-datadog-forwarder');
  assert.match(field('version') ?? '', /^\d+\.\d+\.\d+$/);
  assert.equal(field('appVersion'), (JSON.parse(readRepoFile('package.json')) as { version: string }).version);
  assert.equal(field('type'), 'application');
});

test('values.yaml: every value has a comment, and deploy/helm/README.md documents every one', () => {
  assert.ok(valueKeys.length > 50);
  const undocumented = valueKeys.filter((k) => !k.documented).map((k) => `${k.path} (line ${k.line})`);
  assert.deepEqual(undocumented, [], 'values without a comment');
  const readme = readRepoFile('deploy/helm/README.md');
  const leaves = valueKeys.map((k) => k.path)
    .filter((p) => !p.startsWith('config.') && ![...valuePaths].some((q) => q.startsWith(p + '.')));
  const missing = leaves.filter((p) => !readme.includes('`' + p + '`'));
  assert.deepEqual(missing, [], 'values missing from deploy/helm/README.md');
});

test('values.yaml: the default config uses only keys the forwarder knows', () => {
  const settings = new Set(SETTINGS.map((s) => s.key));
  const matchKeys = new Set(MATCH_SETTINGS.map((m) => m.key));
  const configKeys = valueKeys.map((k) => k.path).filter((p) => p.startsWith('config.')).map((p) => p.slice('config.'.length));
  assert.ok(configKeys.includes('match.pattern'));
  for (const key of configKeys) {
    if (key === 'match') continue;
    if (key.startsWith('match.')) assert.ok(matchKeys.has(key.slice('match.'.length)), `[[match]] key ${key}`);
    // a table (e.g. routing) is a prefix of settings; a leaf must be a setting
    else assert.ok(settings.has(key) || [...settings].some((s) => s.startsWith(key + '.')), `config key ${key}`);
  }
});

test('templates: balanced actions and blocks, .Values paths that exist, includes that are defined', () => {
  const defined = new Set([...(templates.get('_helpers.tpl') ?? '').matchAll(/\{\{-? define "([^"]+)"/g)].map((m) => m[1]!));
  for (const [name, text] of templates) {
    // every {{ opens an action that closes (a literal }} outside actions is text, e.g. in JSON)
    assert.doesNotMatch(text.replace(/\{\{.*?\}\}/gs, ''), /\{\{/, `${name}: an unclosed {{`);
    const opens = (text.match(/\{\{-?\s*(if|range|with|define|block)\b/g) ?? []).length;
    const ends = (text.match(/\{\{-?\s*end\s*-?\}\}/g) ?? []).length;
    assert.equal(opens, ends, `${name}: every if/range/with/define has its end`);
    for (const m of text.matchAll(/\$?\.Values((?:\.[A-Za-z0-9_]+)+)/g)) {
      assert.ok(valuePaths.has(m[1]!.slice(1)), `${name}: .Values${m[1]} is not in values.yaml`);
    }
    for (const m of text.matchAll(/include "([^"]+)"/g)) assert.ok(defined.has(m[1]!), `${name}: include "${m[1]}" is not defined`);
  }
  for (const required of ['statefulset.yaml', 'configmap.yaml', 'secret.yaml', 'service.yaml', 'servicemonitor.yaml', 'NOTES.txt', '_helpers.tpl']) {
    assert.ok(templates.has(required), `templates/${required}`);
  }
});

test('StatefulSet: replicas from values (1 by default), each pod with its own spool claim where TDF_STORAGE points', () => {
  assert.match(sts, /^kind: StatefulSet$/m);
  assert.match(sts, /^ {2}replicas: \{\{ \.Values\.replicas \}\}$/m);
  assert.equal(valueOf('replicas'), '1');
  const storage = helperConstant('tdf.storagePath');
  const image = parseDockerfile(readRepoFile('Dockerfile')).at(-1)!;
  assert.deepEqual(execForm(instructions(image, 'VOLUME')[0]!.args), [storage], 'the chart mounts the spool where the image keeps it');
  const claims = block(sts, /^ {2}volumeClaimTemplates:/);
  const claimName = /- metadata:\s*\n\s*name: (\S+)/.exec(claims)?.[1];
  assert.ok(claimName, 'a volume claim template');
  assert.match(claims, /storage: \{\{ \.Values\.persistence\.size \}\}/);
  assert.match(claims, /accessModes:/);
  const mounts = block(sts, /^ {10}volumeMounts:/);
  assert.match(mounts, new RegExp(`- name: ${claimName}\\s*\\n\\s*mountPath: \\{\\{ include "tdf\\.storagePath" \\. \\}\\}`), 'the claim is mounted at the storage path');
  assert.match(sts, /- name: TDF_STORAGE\s*\n\s*value: \{\{ include "tdf\.storagePath" \. \| quote \}\}/);
});

test('StatefulSet: non-root, read-only root file system, no capabilities, from values the templates use', () => {
  assert.match(sts, /^ {6}securityContext:\s*\n\s*\{\{- toYaml \.Values\.podSecurityContext \| nindent 8 \}\}/m);
  assert.match(sts, /^ {10}securityContext:\s*\n\s*\{\{- toYaml \.Values\.securityContext \| nindent 12 \}\}/m);
  assert.equal(valueOf('podSecurityContext.runAsNonRoot'), 'true');
  assert.equal(valueOf('securityContext.runAsNonRoot'), 'true');
  const image = parseDockerfile(readRepoFile('Dockerfile')).at(-1)!;
  const imageUid = instructions(image, 'USER')[0]!.args.split(':')[0];
  assert.equal(valueOf('podSecurityContext.runAsUser'), imageUid, 'the image user');
  assert.notEqual(valueOf('podSecurityContext.runAsUser'), '0');
  assert.equal(valueOf('securityContext.readOnlyRootFilesystem'), 'true');
  assert.equal(valueOf('securityContext.allowPrivilegeEscalation'), 'false');
  assert.match(block(values, /^ {2}capabilities:/), /drop:\s*\n\s*- ALL/);
  assert.match(sts, /automountServiceAccountToken: false/);
});

test('StatefulSet: probes on the admin port (/healthz live, /readyz ready), admin reachable, time to drain', () => {
  const admin = /- name: admin\s*\n\s*containerPort: \{\{ \.Values\.admin\.port \}\}/;
  assert.match(sts, admin);
  const live = block(sts, /^ {10}livenessProbe:/);
  assert.match(live, /path: \/healthz\s*\n\s*port: admin/);
  const ready = block(sts, /^ {10}readinessProbe:/);
  assert.match(ready, /path: \/readyz\s*\n\s*port: admin/);
  assert.match(block(sts, /^ {10}startupProbe:/), /path: \/healthz/);
  assert.match(sts, /- name: TDF_ADMIN_HOST\s*\n\s*value: "0\.0\.0\.0"/, 'probes come from the kubelet, not loopback');
  assert.match(sts, /- name: TDF_ADMIN_PORT\s*\n\s*value: \{\{ \.Values\.admin\.port \| quote \}\}/);
  assert.match(sts, /terminationGracePeriodSeconds: \{\{ \.Values\.terminationGracePeriodSeconds \}\}/);
  assert.ok(Number(valueOf('terminationGracePeriodSeconds')) >= 40, 'above the drain deadline plus a request timeout');
});

test('StatefulSet: API key from a Secret, ingest TLS from a Secret, the tbot identity as a refreshed directory mount', () => {
  assert.match(sts, /- name: DD_API_KEY\s*\n\s*valueFrom:\s*\n\s*secretKeyRef:\s*\n\s*name: \{\{ include "tdf\.apiKeySecretName" \. \}\}\s*\n\s*key: \{\{ \.Values\.datadog\.apiKey\.secretKey \}\}/);
  assert.match(templates.get('secret.yaml')!, /\{\{- if not \.Values\.datadog\.apiKey\.existingSecret \}\}/, 'a Secret is created only without an existing one');
  assert.doesNotMatch(sts, /apiKey\.value/, 'the key itself never appears in the pod spec');

  // ingest: env paths = the mounted Secret's item paths
  const tlsDir = helperConstant('tdf.ingestTlsDir');
  const tlsVolume = block(sts, /^ {8}- name: ingest-tls$/);
  assert.match(tlsVolume, /secretName: \{\{ \.Values\.ingest\.tls\.secretName \}\}/);
  for (const [env, file] of [['TDF_INGEST_CA', 'ca.crt'], ['TDF_INGEST_CERT', 'server.crt'], ['TDF_INGEST_KEY', 'server.key']]) {
    assert.match(sts, new RegExp(`- name: ${env}\\s*\\n\\s*value: \\{\\{ include "tdf\\.ingestTlsDir" \\. \\}\\}/${file.replace('.', '\\.')}`));
    assert.match(tlsVolume, new RegExp(`path: ${file.replace('.', '\\.')}`));
  }
  assert.ok(tlsDir.startsWith('/'));

  // teleport identity: a secret volume mounted as a directory (a subPath mount would never see tbot's renewals)
  assert.match(sts, /- name: TDF_TELEPORT_IDENTITY\s*\n\s*value: \{\{ include "tdf\.identityDir" \. \}\}\/identity/);
  assert.match(sts, /- name: TDF_TELEPORT_REFRESH_ENABLED\s*\n\s*value: "true"/);
  const idVolume = block(sts, /^ {8}- name: teleport-identity$/);
  assert.match(idVolume, /secretName: \{\{ \.Values\.teleport\.identitySecret\.name \}\}/);
  assert.match(idVolume, /key: \{\{ \.Values\.teleport\.identitySecret\.key \}\}\s*\n\s*path: identity/);
  const idMount = block(sts, /^ {12}- name: teleport-identity$/);
  assert.match(idMount, /mountPath: \{\{ include "tdf\.identityDir" \. \}\}/);
  assert.doesNotMatch(idMount, /subPath/);
});

test('templates: every env var set for the forwarder is one it reads', () => {
  const known = knownEnvNames();
  // POD_NAME is the container command's, which picks the poller's pod
  assert.match(entrypointScript(), /\$\{POD_NAME##\*-\}/);
  const names = [...sts.matchAll(/- name: ([A-Z][A-Z0-9_]+)\s*$/gm)].map((m) => m[1]!).filter((n) => n !== 'POD_NAME');
  assert.ok(names.length >= 10);
  for (const n of names) assert.ok(known.has(n), `${n} is not an env var of the forwarder`);
});

test('config, services and ServiceMonitor wiring', () => {
  const cm = templates.get('configmap.yaml')!;
  assert.match(cm, /forwarder\.toml: \|/);
  assert.match(cm, /toToml/);
  assert.match(sts, /mountPath: \{\{ include "tdf\.configDir" \. \}\}\/forwarder\.toml/);
  const args = block(sts, /^ {10}args:/);
  assert.match(args, /- start\s*\n\s*- --config\s*\n\s*- \{\{ include "tdf\.configDir" \. \}\}\/forwarder\.toml/);
  assert.match(sts, /checksum\/config:/, 'a config change rolls the pod');

  const svc = templates.get('service.yaml')!;
  assert.match(svc, /- name: ingest\s*\n\s*port: \{\{ \.Values\.service\.port \}\}\s*\n\s*targetPort: ingest/);
  assert.match(sts, /- name: ingest\s*\n\s*containerPort: \{\{ \.Values\.ingest\.port \}\}/);

  const headless = templates.get('service-headless.yaml')!;
  assert.match(sts, /serviceName: \{\{ include "tdf\.fullname" \. \}\}-headless/);
  assert.match(headless, /name: \{\{ include "tdf\.fullname" \. \}\}-headless/);
  assert.match(headless, /clusterIP: None/);
  const sm = templates.get('servicemonitor.yaml')!;
  assert.match(sm, /^\{\{- if \.Values\.serviceMonitor\.enabled \}\}/);
  assert.match(sm, /kind: ServiceMonitor/);
  assert.match(sm, /- port: admin\s*\n\s*path: \/metrics/);
  const component = /app\.kubernetes\.io\/component: (\S+)/.exec(sm)?.[1];
  assert.ok(component && headless.includes(`app.kubernetes.io/component: ${component}`), 'the ServiceMonitor selects the headless Service');
  assert.match(headless, /- name: admin\s*\n\s*port: \{\{ \.Values\.admin\.port \}\}/);
  assert.ok(existsSync(join(repoRoot, chartDir, '.helmignore')));
});

test('deploy/helm/README.md points to the config reference, docs/configuration.md, by a link that resolves', () => {
  const readme = readRepoFile('deploy/helm/README.md');
  const links = [...readme.matchAll(/\]\(([^)]*configuration\.md)\)/g)].map((m) => m[1]!);
  assert.ok(links.length > 0, 'a link to docs/configuration.md');
  for (const link of links) assert.ok(existsSync(join(repoRoot, 'deploy/helm', link)), `${link} exists`);
  assert.doesNotMatch(readme, /`README\.md` of the repository,\s*`start --help`/, 'not the old pointer');
});

/** the shell script of the container command (`/bin/sh -c <script> <$0>`), unindented */
function entrypointScript(): string {
  const command = block(sts, /^ {10}command:/);
  assert.match(command, /- \/bin\/sh\s*\n\s*- -c\s*\n\s*- \|/);
  const lines = command.split('\n');
  const start = lines.findIndex((l) => /^\s*- \|$/.test(l));
  const body: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith(' '.repeat(14))) break;
    body.push(l.slice(14));
  }
  return body.join('\n') + '\n';
}

/** runs the container command as the pod would (env from the template), with a `node` that records what it got */
function runEntrypoint(podName: string): { args: string[]; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-helm-entry-'));
  try {
    writeFileSync(join(dir, 'node'), '#!/bin/sh\nprintf "%s\\n" "$@" > "$OUT/args"\nenv > "$OUT/env"\n');
    chmodSync(join(dir, 'node'), 0o755);
    // the env the template gives with teleport.enabled (values as the chart renders them)
    const env = {
      PATH: `${dir}:${process.env.PATH}`,
      OUT: dir,
      POD_NAME: podName,
      TDF_INGEST_ENABLED: 'true',
      TDF_TELEPORT_ENABLED: 'true',
      TDF_TELEPORT_ADDR: 'teleport.example.com:443',
      TDF_TELEPORT_IDENTITY: '/var/run/teleport-datadog-forwarder/identity/identity',
      TDF_TELEPORT_REFRESH_ENABLED: 'true',
      TDF_TELEPORT_REFRESH_INTERVAL: '1m',
    };
    const r = spawnSync('/bin/sh', ['-c', entrypointScript(), 'teleport-datadog-forwarder', 'start', '--config', '/etc/f.toml'], {
      env,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const seen = Object.fromEntries(
      readFileSync(join(dir, 'env'), 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    return { args: readFileSync(join(dir, 'args'), 'utf8').trim().split('\n'), env: seen };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('replicas: the poller runs on pod 0 only; every other pod starts the forwarder with the poller off', () => {
  // the command exists only with the poller, and POD_NAME comes from the downward API
  assert.match(sts, /\{\{- if \.Values\.teleport\.enabled \}\}\n {10}# the poller runs on exactly one pod[\s\S]*?command:/);
  assert.match(sts, /- name: POD_NAME\s*\n\s*valueFrom:\s*\n\s*fieldRef:\s*\n\s*fieldPath: metadata\.name/);

  const zero = runEntrypoint('tdf-teleport-datadog-forwarder-0');
  assert.deepEqual(zero.args, ['/app/dist/src/cli/main.js', 'start', '--config', '/etc/f.toml']);
  assert.equal(zero.env.TDF_TELEPORT_ENABLED, 'true');
  assert.equal(zero.env.TDF_TELEPORT_ADDR, 'teleport.example.com:443');
  // pod 10 is not pod 0 (the ordinal is the whole suffix)
  for (const name of ['tdf-teleport-datadog-forwarder-1', 'tdf-teleport-datadog-forwarder-10']) {
    const other = runEntrypoint(name);
    assert.deepEqual(other.args, zero.args, 'the same forwarder command');
    assert.equal(other.env.TDF_TELEPORT_ENABLED, 'false', name);
    for (const k of ['TDF_TELEPORT_ADDR', 'TDF_TELEPORT_IDENTITY', 'TDF_TELEPORT_REFRESH_ENABLED', 'TDF_TELEPORT_REFRESH_INTERVAL'])
      assert.equal(other.env[k], undefined, `${k} unset on ${name}`);

    // that env, given to the forwarder's own loader: the ingest only, and no "not used" note about the poller
    const tls = writeTlsFiles();
    try {
      const tdf = Object.fromEntries(Object.entries(other.env).filter(([k]) => k.startsWith('TDF_')));
      const c = loadConfig({
        env: { ...tdf, TDF_INGEST_CA: tls.paths.ca, TDF_INGEST_CERT: tls.paths.cert, TDF_INGEST_KEY: tls.paths.key, DD_API_KEY: 'k'.repeat(32), TDF_STORAGE: tls.dir },
      });
      assert.equal(c.teleport.enabled, false);
      assert.equal(c.ingest.enabled, true);
      assert.deepEqual(c.notes, []);
    } finally {
      rmSync(tls.dir, { recursive: true, force: true });
    }
  }
});

test('replicas: more than one needs the ingest, and gets a PodDisruptionBudget over the same pods', () => {
  const helpers = templates.get('_helpers.tpl')!;
  assert.match(helpers, /\{\{- if and \(gt \(int \.Values\.replicas\) 1\) \(not \.Values\.ingest\.enabled\) \}\}\n\{\{- fail "replicas > 1 needs ingest\.enabled/);
  assert.match(helpers, /\{\{- if lt \(int \.Values\.replicas\) 1 \}\}\n\{\{- fail "replicas must be 1 or more"/);
  const pdb = templates.get('pdb.yaml');
  assert.ok(pdb, 'templates/pdb.yaml');
  assert.match(pdb, /^\{\{- if and \.Values\.podDisruptionBudget\.enabled \(gt \(int \.Values\.replicas\) 1\) \}\}/);
  assert.match(pdb, /^apiVersion: policy\/v1$/m);
  assert.match(pdb, /^kind: PodDisruptionBudget$/m);
  assert.match(pdb, /^ {2}maxUnavailable: \{\{ \.Values\.podDisruptionBudget\.maxUnavailable \}\}$/m);
  // it covers exactly the StatefulSet's pods: the same selector labels
  assert.match(pdb, /selector:\s*\n\s*matchLabels:\s*\n\s*\{\{- include "tdf\.selectorLabels" \. \| nindent 6 \}\}/);
  assert.match(sts, /selector:\s*\n\s*matchLabels:\s*\n\s*\{\{- include "tdf\.selectorLabels" \. \| nindent 6 \}\}/);
  assert.equal(valueOf('podDisruptionBudget.enabled'), 'true');
  assert.equal(valueOf('podDisruptionBudget.maxUnavailable'), '1');
  // the ingest Service selects every pod; a rolling update goes one ready pod at a time
  assert.match(templates.get('service.yaml')!, /selector:\s*\n\s*\{\{- include "tdf\.selectorLabels" \. \| nindent 4 \}\}/);
  assert.match(sts, /podManagementPolicy: OrderedReady/);
  assert.match(sts, /updateStrategy:\s*\n\s*type: RollingUpdate/);
  // what scale-down does to queued records is written down
  const readme = readRepoFile('deploy/helm/README.md');
  assert.match(readme.replace(/\s+/g, ' '), /Records still queued in that spool are not lost and not shipped: they stay on the pod's claim/);
});
