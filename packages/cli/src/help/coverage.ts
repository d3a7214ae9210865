/** `provenant coverage --help`. */
export const coverageHelp = `provenant coverage [--from RFC3339] [--to RFC3339] [--server URL [--token T]] [--json] [--html FILE]

Attribution coverage of a time range: action records by attribution level per class
(privileged / irreversible / external / other), the share of privileged actions with verified
attribution and a recorded decision, pooled service accounts with the distinct claimed
instances and tasks acting through each, asserted or unattributed privileged actions,
credential lifetimes (flagging any over 1 hour), and actions without a decision.
  --json        print the report as JSON
  --html FILE   also write a self-contained HTML report with bar charts (no external assets)`;
