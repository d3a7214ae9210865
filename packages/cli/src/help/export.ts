/** `provenant export --help`. */
export const exportHelp = `provenant export --format jsonl|ocsf|otlp [--server URL [--token T] | --data DIR] [-o FILE]
                 [--from TIME] [--to TIME] [--type TYPE]
                 [--otlp-endpoint URL] [--otlp-protocol http/json|http/protobuf]
                 [--otlp-header NAME=VALUE]... [--batch N]

Exports every record (or those of --type, with time in [--from, --to)) in log order, read from
a collector or a ledger folder (read-only):
  jsonl  each record with its integrity (leaf index and hash), one JSON object a line;
  ocsf   each record as an OCSF 1.9.0-dev API Activity event (class_uid 6003, with ai_agent
         and delegation), one a line;
  otlp   each record as an OpenTelemetry span with GenAI attributes, sent over OTLP/HTTP
         to --otlp-endpoint (default http://127.0.0.1:4318/v1/traces) in batches of
         --batch (default 512), as OTLP/JSON or protobuf (--otlp-protocol), with any
         --otlp-header (e.g. an API key); prints how many spans were sent.
jsonl and ocsf go to FILE (never overwritten) or standard output.`;
