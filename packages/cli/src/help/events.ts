/** `provenant events --help`. */
export const eventsHelp = `provenant events [--server URL] [filters] [--limit N] [--cursor C] [--all] [--json]

Queries records from a collector and prints them as a table (or JSON lines with --json).
Filters: --initiator ID --actor ID --type TYPE --task-id ID --trace-id ID --level LEVEL
         --from RFC3339 --to RFC3339
  --limit N   records per page (1-1000, default 50)
  --all       follow the cursor to the end`;
