/** `provenant explain-decision --help`. */
export const explainDecisionHelp = `provenant explain-decision DECISION_ID [--server URL [--token T]] [--json]

Re-evaluates a recorded policy decision against the policy-set version it was made with (the
answer must be the same) and against the current set, showing any drift
("would now be denied by …"). Exit 0 when the replay matches the record, 1 when it does not.`;
