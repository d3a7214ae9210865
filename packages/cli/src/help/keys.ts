/** `provenant keys --help`. */
export const keysHelp = `provenant keys rotate [--retire-now] [--server URL] [--admin-token T | --data DIR]

  rotate               the issuer signs credentials with a new key from now on; the old key
                       verifies only credentials issued before the rotation, until they expire
  rotate --retire-now  for a leaked key: every older key stops verifying at once, leaves the
                       JWKS, and its private half is deleted from issuer-keys.json; credentials
                       it signed are refused (holders get new ones)
Each rotation is an issuer.key_rotated ledger record. The admin token comes from --admin-token,
$PROVENANT_ADMIN_TOKEN or <data>/admin.token.`;
