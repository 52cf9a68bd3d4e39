/**
 * Proof algorithms accepted, in the order `WWW-Authenticate: DPoP algs="…"` names them: asymmetric
 * only (RFC 9449 §4.2). Ed25519 is EdDSA's fully specified name (RFC 9864), which clients such as
 * panva's `dpop` now send.
 */
export const DPOP_ALGORITHMS = ['ES256', 'Ed25519', 'EdDSA', 'ES384', 'PS256', 'RS256'] as const;
