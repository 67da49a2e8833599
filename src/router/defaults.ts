// the router's defaults, in one place: the rules, the serializer and the old-timestamp policy read them too

export const ROUTER_DEFAULTS = Object.freeze({
  maxLogBytes: 1_000_000, // bytes; Datadog truncates larger logs
  unmatchedWarnIntervalMs: 10_000, // at most one "no rule matched" warning per interval
  unmatchedTagsTracked: 1000, // distinct tags counted between two warnings; the tag comes from clients
  tagCharsShown: 200, // longer tags are cut in warnings and reasons (an http path can be long)
  originalTimestampKey: 'original_timestamp',
  oldLogIntervalMs: 60_000, // the first old event is logged at once, the rest at most once a minute with their count
});
