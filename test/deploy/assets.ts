// small readers for the deployment assets, so tests can check them without docker, helm or systemd: a Dockerfile
// parser, the .dockerignore rule, a key scanner for the chart's block-style values.yaml, a systemd unit parser, and
// the env var names the forwarder reads (from the config schema, so a typo in an asset fails a test).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/load.js';
import { SETTINGS, envName } from '../../src/config/schema.js';
import { launchFlags } from '../../src/runtime.js';
import { repoRoot } from '../helpers/paths.js';

export { repoRoot };
/** env vars for node and glibc, not the forwarder: the shipped entry points set them (src/runtime.ts LAUNCH) */
export const NODE_ENV_VARS = ['NODE_ENV', 'NODE_OPTIONS', 'MALLOC_ARENA_MAX'];

/** the environment the Dockerfile's runtime (last) stage sets with ENV */
export function imageEnv(dockerfile = readRepoFile('Dockerfile')): Record<string, string> {
  const stages = parseDockerfile(dockerfile);
  const runtime = stages[stages.length - 1]!;
  return Object.assign({}, ...instructions(runtime, 'ENV').map((i) => parseEnv(i.args)));
}

/** the environment a systemd unit's [Service] sets with Environment= */
export function unitEnvironment(unit: Map<string, Array<[string, string]>>): Map<string, string> {
  return new Map(
    unitValues(unit, 'Service', 'Environment').map((e) => {
      const i = e.indexOf('=');
      return [e.slice(0, i), e.slice(i + 1)] as [string, string];
    }),
  );
}

/** the environment LAUNCH asks of an entry point */
export function launchEnv(): Record<string, string> {
  const { flags, env } = launchFlags();
  return { NODE_OPTIONS: flags.join(' '), ...env };
}

export const readRepoFile = (...parts: string[]): string => readFileSync(join(repoRoot, ...parts), 'utf8');

// ---- Dockerfile

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  base: string;
  name?: string;
  instructions: Instruction[];
}

/** stages of a Dockerfile, with continuation lines joined and comments dropped (as docker reads it) */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ');
      i++;
      if (/^\s*#/.test(lines[i]!)) continue; // comment lines inside a continuation are dropped too
      line += lines[i]!;
    }
    const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot read "${line}"`);
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`Dockerfile line ${start + 1}: cannot read FROM ${args}`);
      stages.push({ base: from[1]!, name: from[2], instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) throw new Error(`Dockerfile line ${start + 1}: ${keyword} before FROM`);
    stage.instructions.push({ keyword, args, line: start + 1 });
  }
  return stages;
}

/** the exec form (a JSON array of strings) of CMD, ENTRYPOINT and the like, or null for the shell form */
export function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an array of strings: ${args}`);
  return parsed;
}

/** `ENV A=1 B="two words"` (or the legacy `ENV A value`) */
export function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const [k, ...rest] = args.split(/\s+/);
    out[k!] = rest.join(' ');
    return out;
  }
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))\s*/y;
  let pos = 0;
  while (pos < args.length) {
    re.lastIndex = pos;
    const m = re.exec(args);
    if (!m) throw new Error(`cannot read ENV ${args}`);
    out[m[1]!] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? m[5] ?? '');
    pos = re.lastIndex;
  }
  return out;
}

/** `HEALTHCHECK [--opt=value ...] CMD ...` */
export function parseHealthcheck(args: string): { options: Record<string, string>; cmd: string[] | string } {
  const options: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([a-z-]+)=(\S+)\s+/.exec(rest); m; m = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    options[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  const cmd = /^CMD\s+(.*)$/s.exec(rest);
  if (!cmd) throw new Error(`HEALTHCHECK without CMD: ${args}`);
  return { options, cmd: execForm(cmd[1]!) ?? cmd[1]! };
}

/** the instructions of a stage with this keyword */
export const instructions = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);

// ---- .dockerignore

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** whether .dockerignore keeps `path` out of the build context: the last rule matching it or a parent dir wins */
export function dockerignoreExcludes(ignoreText: string, path: string): boolean {
  const rules = ignoreText.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => ({ include: l.startsWith('!'), re: globToRegExp(l.replace(/^!/, '').replace(/^\/+|\/+$/g, '')) }));
  const parts = path.replace(/^\.?\/+|\/+$/g, '').split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const rule of rules) {
    if (prefixes.some((p) => rule.re.test(p))) excluded = !rule.include;
  }
  return excluded;
}

// ---- env vars the forwarder reads

export function knownEnvNames(): Set<string> {
  const names = new Set<string>(['TDF_CONFIG', 'FDFWD_CONFIG']);
  for (const s of SETTINGS) {
    names.add(envName(s.key));
    for (const e of s.env ?? []) names.add(e);
  }
  return names;
}

// ---- the chart's values.yaml (block style only, as we write it)

export interface YamlKey {
  path: string;
  line: number;
  documented: boolean;
}

/** every key of a block-style YAML file with its dotted path, and whether a comment documents it */
export function yamlKeys(text: string): YamlKey[] {
  const lines = text.split('\n');
  const out: YamlKey[] = [];
  const stack: Array<{ indent: number; key: string }> = [];
  let blockIndent = -1; // inside a block scalar (| or >): skip lines indented deeper than its key
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (/^\s*$/.test(raw)) continue;
    const indent = raw.length - raw.trimStart().length;
    if (blockIndent >= 0) {
      if (indent > blockIndent) continue;
      blockIndent = -1;
    }
    if (/^\s*#/.test(raw) || /^---/.test(raw)) continue;
    const m = /^(\s*)(- +)?([A-Za-z0-9_.\-/]+|"[^"]+"):(?:\s+(.*))?$/.exec(raw);
    if (!m) continue; // a list scalar ("- item") or a continuation
    // a key after "- " opens a mapping inside a list item: its siblings are indented like it, past the dash
    const keyIndent = m[1]!.length + (m[2]?.length ?? 0);
    const key = m[3]!.replace(/^"|"$/g, '');
    while (stack.length && stack[stack.length - 1]!.indent >= keyIndent) stack.pop();
    const parent = stack.map((s) => s.key).join('.');
    const path = parent ? `${parent}.${key}` : key;
    let prev = i - 1;
    while (prev >= 0 && /^\s*$/.test(lines[prev]!)) prev--;
    const documented = /(^|\s)#\s*\S/.test(m[4] ?? '') || (prev >= 0 && /^\s*#\s*\S/.test(lines[prev]!));
    out.push({ path, line: i + 1, documented });
    stack.push({ indent: keyIndent, key });
    const value = (m[4] ?? '').replace(/\s+#.*$/, '').trim();
    if (/^[|>][-+]?\d*$/.test(value)) blockIndent = keyIndent;
  }
  return out;
}

// ---- systemd units and env files

/** sections of a unit file, each a list of [key, value] in order (keys repeat, e.g. Environment=) */
export function parseUnit(text: string): Map<string, Array<[string, string]>> {
  const sections = new Map<string, Array<[string, string]>>();
  let current: Array<[string, string]> | undefined;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = pending + raw;
    if (/\\$/.test(line)) {
      pending = line.slice(0, -1) + ' ';
      continue;
    }
    pending = '';
    if (/^\s*([#;]|$)/.test(line)) continue;
    const section = /^\[(.+)\]\s*$/.exec(line);
    if (section) {
      current = [];
      sections.set(section[1]!, current);
      continue;
    }
    const kv = /^([A-Za-z0-9]+)\s*=\s*(.*)$/.exec(line);
    if (!kv || !current) throw new Error(`unit line cannot be read: ${line}`);
    current.push([kv[1]!, kv[2]!.trim()]);
  }
  return sections;
}

/** values of a key in a section, in order */
export function unitValues(unit: Map<string, Array<[string, string]>>, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/** NAME=value lines of an env file; commented-out examples (`#NAME=value`) count too */
export function envFileNames(text: string): string[] {
  return text.split('\n').map((l) => /^\s*#?\s*([A-Z][A-Z0-9_]*)=/.exec(l)?.[1]).filter((n): n is string => n !== undefined);
}

// ---- example config files

/**
 * loads an example config with the forwarder's own loader (every key and value validated), after pointing the
 * absolute /run and /etc paths it names, in the file and in `env` (secrets, mounted files), at temp files. returns
 * the config and which temp file stands for which path.
 */
export function loadExample(toml: string, env: Record<string, string> = {}): { config: Readonly<Config>; files: Map<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-example-'));
  const files = new Map<string, string>();
  const stand = (path: string): string => {
    let file = files.get(path);
    if (!file) {
      file = join(dir, `file-${files.size}`);
      writeFileSync(file, 'example-secret-0123456789', { mode: 0o600 });
      files.set(path, file);
    }
    return file;
  };
  const isMounted = (v: string) => /^\/(run|etc)\//.test(v);
  try {
    const text = toml.replace(/"(\/(?:run|etc)\/[^"]+)"/g, (_, path: string) => JSON.stringify(stand(path)));
    const file = join(dir, 'forwarder.toml');
    writeFileSync(file, text);
    const mappedEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, isMounted(v) ? stand(v) : v]));
    return { config: loadConfig({ file, env: mappedEnv as NodeJS.ProcessEnv, cwd: dir }), files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
