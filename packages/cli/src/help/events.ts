/** `provenant events --help`. */
export const eventsHelp = `provenant events [--server URL [--token T]] [filters] [--order desc|asc] [--limit N] [--cursor C] [--all] [--json]

Queries records from a collector and prints them as a table — leaf, time, type, action,
resource, outcome, attribution level, initiator, actor, id — or JSON lines with --json.
Newest first (--order desc, the default; --order asc for log order).
Filters, each the GET /v1/events query parameter of the same name:
  --action GLOB        action name, * matches any run (github.*)
  --resource PREFIX    resource prefix (repo:acme/)
  --outcome STATUS     success, error, denied or pending
  --level LEVEL        verified, pooled, asserted or unattributed
  --type TYPE --initiator ID --actor ID --task-id ID --trace-id ID
  --from RFC3339 --to RFC3339
  --q TEXT             one search: a record id, trace id, resource prefix, action glob, actor
                       or initiator id (as the console's search box)
  --limit N   records per page (1-1000, default 50)
  --cursor C  the page a previous run named ("more: --cursor C", "before these: --cursor C")
  --all       follow the cursor to the end
The total matching (exact, or "more than N") and the cursors go to stderr.
Reading needs the analyst role. The credential: --token T, else $PROVENANT_TOKEN, else the stored
\`provenant login\` for that URL, else the admin token in --data DIR ($PROVENANT_DATA,
./provenant-data) as next to \`npm start\`.
Exit codes: 0 ok; 2 a bad flag or a filter the collector refuses (400 invalid_parameter,
invalid_cursor); 3 the collector cannot be reached or read (no credential or role).`;
