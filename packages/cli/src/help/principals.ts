/** `provenant principals --help`. */
export const principalsHelp = `provenant principals add|list|disable [--server URL] [--admin-token T | --data DIR]

  add --kind KIND (--id ID | --trust-domain TD --agent NAME --instance ID) [--name TEXT]
      [--agent-ref planner@3] [--shared] [--may-act ID,ID] [--generate-key FILE | --public-key FILE]
        registers a principal; --generate-key writes a new Ed25519 identity file (0600) for an
        agent instance or service and registers its public key
        KIND: human | agent | agent_instance | service | workflow | service_account
  list [--json]        every principal
  disable ID           refuses the principal from now on (issuer and ingest)
The admin token comes from --admin-token, $PROVENANT_ADMIN_TOKEN or <data>/admin.token.`;
