/** `provenant trace --help`. */
export const traceHelp = `provenant trace TRACE_ID [--server URL [--token T]] [--limit N] [--cursor C] [--all] [--json]

Prints a trace as a causal tree: a record hangs under the record of its trace.parent_span_id,
else under the record its cause.record_id names; the rest are roots, ordered by time. Each line:
time, type, actor, action and resource, outcome, attribution level. The collector answers a page
of records at a time (in log order); a record whose parent is on an earlier page is a root here.
  --limit N    records per page, 1 to 1000 (default 1000)
  --cursor C   the page after the one that printed this cursor
  --all        follow every page (at most 1000)
  --json       print the collector's answer for one page`;
