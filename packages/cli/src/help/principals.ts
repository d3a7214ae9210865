/** `provenant principals --help`. */
export const principalsHelp = `provenant principals add|list|disable|grant|revoke|ceiling [--server URL] [--admin-token T | --data DIR]

  add --kind KIND (--id ID | --trust-domain TD --agent NAME --instance ID) [--name TEXT]
      [--agent-ref planner@3] [--shared] [--may-act ID,ID] [--scopes "S S"]
      [--generate-key FILE | --public-key FILE]
        registers a principal; --generate-key writes a new Ed25519 identity file (0600) for an
        agent instance or service and registers its public key; --scopes sets its scope ceiling.
        A new agent instance, service, workflow or service account is granted producer.
        KIND: human | agent | agent_instance | service | workflow | service_account
  list [--json]        every principal, with its roles and scope ceiling
  disable ID           refuses the principal from now on (issuer and ingest)
  grant ID ROLE        grants a role: producer | analyst | auditor | admin (a ledger record)
  revoke ID ROLE       revokes a role (a ledger record); credentials issued later lack it
  ceiling ID "S S"     sets the most scopes a credential rooted at ID may carry ("" for none)
The admin token comes from --admin-token, $PROVENANT_ADMIN_TOKEN or <data>/admin.token.`;
