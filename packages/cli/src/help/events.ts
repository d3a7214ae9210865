/** `provenant events --help`. */
export const eventsHelp = `provenant events [--server URL [--token T]] [filters] [--limit N] [--cursor C] [--all] [--json]

Queries records from a collector and prints them as a table (or JSON lines with --json).
Filters: --initiator ID --actor ID --type TYPE --task-id ID --trace-id ID --level LEVEL
         --from RFC3339 --to RFC3339
  --limit N   records per page (1-1000, default 50)
  --all       follow the cursor to the end
Reading needs the analyst role. The credential: --token T, else $PROVENANT_TOKEN, else the stored
\`provenant login\` for that URL, else the admin token in --data DIR ($PROVENANT_DATA,
./provenant-data) as next to \`npm start\`.`;
