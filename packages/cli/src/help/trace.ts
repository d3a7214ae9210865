/** `provenant trace --help`. */
export const traceHelp = `provenant trace TRACE_ID [--server URL] [--json]

Prints every record of a trace as a causal tree: a record hangs under the record of its
trace.parent_span_id, else under the record its cause.record_id names; the rest are roots,
ordered by time. Each line: time, type, actor, action and resource, outcome, attribution level.
  --json   print the collector's answer`;
