// the one record type that flows from a source (http ingest, teleport poller) to the router.
// conversion to a Datadog log happens in the router; the spool holds the routed log as JSON text.

export interface SourceRecord {
  /** fluentd-style tag: `test.log`, `events.log`, `session.<sid>.log` */
  tag: string;
  /** event time in epoch milliseconds (from the `time` parameter, the record's `time` key, or now) */
  time: number;
  /** the event itself, as received; never mutated after it leaves the source */
  record: Record<string, unknown>;
  /**
   * the record's JSON text exactly as received, when the source has it for free (a request of one compact object):
   * the router sends it rather than serializing the record again. whoever makes a new record leaves it out
   */
  text?: string | undefined;
}
