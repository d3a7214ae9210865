/** Limits that more than one part enforces or reports: defined here, once. */

/**
 * Largest canonical (RFC 8785) encoding of one record, in bytes. A tlog-tiles entry bundle
 * frames each entry with a big-endian uint16 length, so no stored record may exceed 65,535.
 * Parsing works on values, not bytes: whoever holds the bytes enforces it (the collector, on
 * each ingested record).
 */
export const MAX_RECORD_BYTES = 65_535;

/**
 * Longest lifetime of a credential, in seconds: the issuer never mints a longer one, and the
 * coverage report flags any longer credential it finds in the log.
 */
export const MAX_CREDENTIAL_LIFETIME_SEC = 3600;
