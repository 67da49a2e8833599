// docs/configuration.md, generated from the schema so the reference cannot drift from the code.
// `npm run docs` rewrites it; a test fails when the file is stale.
import { SETTINGS, MATCH_SETTINGS, FILTER_SETTINGS, envName, flagName } from './schema.js';

function fmt(v: unknown): string {
  if (v === undefined) return '';
  return '`' + JSON.stringify(v) + '`';
}

function defaultText(type: string, v: unknown): string {
  const text = defaultValueText(type, v);
  return text === undefined ? '' : '`' + text + '`';
}

/** a setting's default as it would be written in the TOML file (`"5m"`, `"32MiB"`), for the docs and --help */
export function defaultValueText(type: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (type === 'duration') return JSON.stringify(msToGo(v as number));
  if (type === 'bytes') return JSON.stringify(bytesText(v as number));
  return JSON.stringify(v);
}

function msToGo(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function bytesText(n: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}

function tomlPlace(key: string): string {
  const parts = key.split('.');
  if (parts.length === 1) return `\`${key}\` (top level)`;
  // teleport.refresh.enabled is `refresh.enabled` under [teleport], as teleport-event-handler writes it
  const table = parts[0] === 'forward' ? 'forward.fluentd' : parts[0]!;
  return `\`${key.slice(table.length + 1)}\` under \`[${table}]\``;
}

export function configurationMarkdown(): string {
  const lines: string[] = [
    '# Configuration reference',
    '',
    '<!-- generated from src/config/schema.ts by `npm run docs`: do not edit by hand -->',
    '',
    'Every setting can be given in the TOML file (`--config`), as an environment variable or as a flag. Flags',
    'beat environment variables, which beat the file, which beats the default. Paths in a file are relative to',
    'the file. Durations are Go-style (`"10s"`, `"1h30m"`), sizes take units (`"32MiB"`, `"5MB"`) or a number of',
    'bytes, lists are TOML arrays or comma-separated strings. A `teleport-event-handler.toml` loads as it is: its',
    'keys, flags and `FDFWD_*` (and `FDWRD_*`) variables are listed beside ours.',
    '',
    '| key | type | default | flag | env | description |',
    '|---|---|---|---|---|---|',
  ];
  for (const s of SETTINGS) {
    const flags = [flagName(s.key), ...(s.aliases ?? [])].map((f) => `\`--${f}\``).join(', ');
    const envs = [envName(s.key), ...(s.env ?? [])].map((e) => `\`${e}\``).join(', ');
    const type = s.type === 'enum' ? s.values!.map((v) => `\`${v}\``).join(' \\| ') : s.type;
    lines.push(
      `| ${tomlPlace(s.key)} | ${type} | ${s.secret ? '' : defaultText(s.type, s.default)} | ${flags} | ${envs} | ${s.doc.replace(/\|/g, '\\|')} |`,
    );
  }
  lines.push(
    '',
    '## Match rules',
    '',
    'Each `[[match]]` table is one rule; rules are tried in order and the first whose pattern matches the tag wins.',
    'Without any `[[match]]` table every record goes to Datadog with `ddsource` and `service` `teleport`, and its',
    'tag in the `tag` attribute (`events.log`, `session.<sid>.log`).',
    '',
    '| key | type | default | description |',
    '|---|---|---|---|',
  );
  for (const m of MATCH_SETTINGS) {
    const type = m.type === 'enum' ? m.values!.map((v) => `\`${v}\``).join(' \\| ') : m.type;
    lines.push(`| \`${m.key}\` | ${type} | ${fmt(m.default)} | ${m.doc.replace(/\|/g, '\\|')} |`);
  }
  lines.push(
    '',
    '## Filters',
    '',
    'Each `[[filter]]` table is one filter; every record goes through the filters whose pattern matches its tag, in',
    'order, before the match rules (on both the ingest and the poller). `grep` and `record_transformer` behave as',
    "Fluentd 1.15's; see [filters.md](filters.md) for every Fluentd directive and how it is carried over.",
    '',
    '| key | filter types | type | default | description |',
    '|---|---|---|---|---|',
  );
  for (const f of FILTER_SETTINGS) {
    const type = f.type === 'enum' ? f.values!.map((v) => `\`${v}\``).join(' \\| ') : f.type;
    const types = f.types.map((x) => `\`${x}\``).join(', ');
    lines.push(`| \`${f.key}\` | ${types} | ${type} | ${fmt(f.default)} | ${f.doc.replace(/\|/g, '\\|')} |`);
  }
  lines.push('');
  return lines.join('\n');
}
