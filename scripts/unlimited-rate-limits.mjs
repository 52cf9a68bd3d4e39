/** The sample's rate-limit variables set out of reach: load from one address must not meet the per-address limits. */
export const UNLIMITED_RATE_LIMITS = {
  LOGIN_RATE_LIMIT: '100000000',
  REGISTER_RATE_LIMIT: '100000000',
  LOGIN_ACCOUNT_RATE_LIMIT: '100000000',
  REGISTER_ACCOUNT_RATE_LIMIT: '100000000',
  REFRESH_RATE_LIMIT: '100000000',
  REFRESH_SESSION_RATE_LIMIT: '100000000',
};
