/** `provenant dev-login --help`. */
export const devLoginHelp = `provenant dev-login USER [--scope "a b"] [--server URL]

DEVELOPMENT ONLY: signs in as user:USER through the collector's development issuer (enabled
with "provenant serve --dev-login") and prints the credential. Production deployments sign
humans in with an ID token from their OIDC provider instead.`;
