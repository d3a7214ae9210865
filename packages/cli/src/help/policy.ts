/** `provenant policy --help`. */
export const policyHelp = `provenant policy test --policies DIR --request FILE [--expect allow|deny] [--json]

Evaluates a request against a Cedar policy folder locally, with the same request builder the
decision point uses. FILE is JSON:
  { "initiator": "user:alice", "actors": ["<current actor>", "<the one before>", …],
    "scope": ["repo:read"], "principals": [ { "id": …, "kind": …, "agent": … } ],
    "action": { "name": "github.delete_repo", "resource": "repo:acme/payments",
                "class": { "privileged": true, "irreversible": true, "external": true },
                "risk": "critical" }, "task_id": "task-1" }
Exit 0 when the decision matches --expect (or always without it), 1 when it does not.`;
