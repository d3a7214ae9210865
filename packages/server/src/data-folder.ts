/**
 * The collector's files in its data folder (`--data`), beside the log's key files (the ledger's
 * `SIGNER_KEY_FILE`, `VERIFIER_KEY_FILE`). Constants only: the CLI reads a data folder without
 * loading the collector.
 */
export const LEDGER_FILE = 'ledger.db';
export const ADMIN_TOKEN_FILE = 'admin.token';
export const ISSUER_KEYS_FILE = 'issuer-keys.json';
export const AUDIT_HMAC_KEY_FILE = 'audit-hmac.key';
/** The newest checkpoint the witness policy is met for, with its cosignatures. */
export const COSIGNED_CHECKPOINT_FILE = 'cosigned-checkpoint';
/** 32 random bytes (base64url) sealing the sign-in cookie and the CLI's sign-in codes. */
export const SIGNIN_KEY_FILE = 'signin.key';
