// the tree the fluent.conf parser builds: sections holding params and sections, each with the file and line it
// came from, and how to read a section's params as fluentd does. pure.

export interface FluentParam {
  key: string;
  /** the value with escapes and embedded ruby applied; unresolved `#{…}` stay as written */
  value: string;
  file: string;
  line: number;
  /** how the value was written: `"`, `'`, json (`[`/`{`), or null (bare) */
  quote: '"' | "'" | 'json' | null;
  /** embedded ruby in a double-quoted value, in order */
  embedded?: Embedded[];
  /** the whole value was one `#{ENV['NAME']}`: the variable's name (secrets can stay in the environment) */
  envVar?: string;
}

export interface Embedded {
  code: string;
  /** true when evaluated (an ENV lookup, a string literal, `||` of those); false: left as written */
  resolved: boolean;
  /** env vars it read */
  env: string[];
  /** env vars it read that were not set */
  unset: string[];
}

export interface FluentSection {
  /** `source`, `match`, `store`…; the root section is named '' */
  name: string;
  /** the text between the name and `>`, trimmed (a match pattern, `tls`, `@LABEL`) */
  arg: string;
  file: string;
  line: number;
  params: FluentParam[];
  sections: FluentSection[];
}

export interface FluentDiagnostic {
  level: 'warn' | 'info';
  file: string;
  line: number;
  message: string;
}

/** reads an `@include` target: the files it names, in order; null when it cannot be followed (a url) */
export type IncludeReader = (spec: string, fromFile: string) => Array<{ file: string; text: string }> | null;

/** the last value of a param (fluentd keeps the last of repeated keys) */
export function getParam(section: FluentSection, key: string): FluentParam | undefined {
  for (let i = section.params.length - 1; i >= 0; i--) if (section.params[i]!.key === key) return section.params[i];
  return undefined;
}

/** `@type`, or the v0 spelling `type` */
export function sectionType(section: FluentSection): string | undefined {
  return (getParam(section, '@type') ?? getParam(section, 'type'))?.value;
}
