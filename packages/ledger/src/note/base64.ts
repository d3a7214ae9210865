// Internal (not re-exported): strict RFC 4648 §4 base64, as the C2SP specs use — the verifier's
// one codec, so the collector and every verifier accept exactly the same texts.
export { decodeBase64, encodeBase64 } from '@provenant/core/verify';
