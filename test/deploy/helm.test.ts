// the helm chart, checked without helm (neither npm nor Debian has it): values documented and used consistently,
// templates well formed as go templates, and the StatefulSet's essentials (spool volume claim, non-root, probes,
// secrets) in place. the checks read the templates as text; each names what broke.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MATCH_SETTINGS, SETTINGS } from '../../src/config/schema.js';
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

test('StatefulSet: one replica, the spool on a volume claim mounted where TDF_STORAGE points (the image volume)', () => {
  assert.match(sts, /^kind: StatefulSet$/m);
  assert.match(sts, /^ {2}replicas: 1$/m);
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
  const names = [...sts.matchAll(/- name: ([A-Z][A-Z0-9_]+)\s*$/gm)].map((m) => m[1]!);
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
