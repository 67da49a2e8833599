// the layers of src/, checked in CI (npm run lint:deps): no import cycles, and imports that only point down.
// cli -> app -> pipeline -> sources, sinks, spool, router -> config, common; setup holds what configure writes.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'an import cycle makes start-up order and tests depend on which module loads first',
      from: {},
      to: { circular: true },
    },
    {
      name: 'pure-cores-stay-pure',
      severity: 'error',
      comment: 'routing, tag patterns, decoders, spool keys and failure classification do no i/o: table tests only',
      from: {
        path: '^src/(router/|sources/http/decode\\.ts|sources/teleport/decoder\\.ts|spool/(keys|plan)\\.ts|sinks/datadog/classify\\.ts)',
      },
      to: { path: '^src/(cli|setup|telemetry)/' },
    },
    {
      name: 'fluentd-migration-is-pure',
      severity: 'error',
      comment: 'the fluent.conf parser and migration do no i/o: fluentd/file.ts reads files, the caller writes',
      from: { path: '^src/config/fluentd/', pathNot: '^src/config/fluentd/file\\.ts$' },
      to: { path: '^(node:)?(fs|fs/promises|child_process|net|http|https)$|^src/config/fluentd/file\\.ts$' },
    },
    {
      name: 'lower-layers-point-down',
      severity: 'error',
      comment: 'components get what they need passed in: they never reach up into commands, setup or telemetry',
      from: { path: '^src/(checks|config|router|sources|sinks|spool|tls)/|^src/(record|errors|paths|runtime|format)\\.ts$' },
      to: { path: '^src/(cli|setup|telemetry)/|^src/(app|pipeline)\\.ts$' },
    },
    {
      name: 'only-cli-imports-cli',
      severity: 'error',
      comment: 'the commands parse flags and call into the app; nothing below them imports a command',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'fakes-only-in-tests',
      severity: 'error',
      comment: 'the fake teleport and intake are for tests, benchmarks and the demo command, never production code',
      from: { path: '^src/', pathNot: '^src/(fakes/|cli/demo\\.ts$)' },
      to: { path: '^src/fakes/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'an import that does not resolve fails at run time',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
