/** `provenant token --help`. */
export const tokenHelp = `provenant token get|exchange|decode [--server URL]

  get --key FILE [--scope "a b"]
        client_credentials: the agent instance in FILE proves its key and gets a credential
  exchange --subject-token TOKEN --key FILE [--scope "a b"] [--lifetime SECONDS]
        RFC 8693: the actor in FILE gets a credential on behalf of the subject token's initiator
  decode TOKEN
        verifies TOKEN against the server's keys and prints its claims and delegation chain
The credential is printed alone on standard output, so TOKEN=$(provenant token get …) works.`;
