import { isExpired, type AccessClaims } from '../tokens/access-claims';
import type { UserId } from '../session.types';

/**
 * What the guard keeps of a verified token: only what a later request with the same token needs,
 * computed once (the full claims, `jti`, `iss`, `aud` and `iat` included, would cost about twice
 * the memory). `sid` and `sub` are the claims' own strings, which strict mode's liveness cache
 * keys and stores too, so the two caches share them. Never handed to a handler: each request gets
 * its own user and session objects (`admit`).
 */
export class VerifiedToken {
  /** Set by every hit, cleared by the eviction's second chance. */
  hit = false;

  constructor(
    /** `SessionService.isKnownLive` and `assertLive` read these two claims only. */
    readonly sid: string,
    readonly sub: string,
    /** The user id in the app's type: `uid` (a number) when present, else `sub`. */
    readonly userId: UserId,
    /** Frozen, and shared by every token with the same roles (see `internRoles`). */
    readonly roles: readonly string[],
    readonly exp: number,
    /** `auth_time` in milliseconds, or null when the token has none. */
    readonly authenticatedAtMs: number | null,
    /** `cnf.jkt`: the DPoP key the token is bound to, or null for a plain token. */
    readonly jkt: string | null,
  ) {}

  static of(claims: AccessClaims, roles: readonly string[] = claims.roles): VerifiedToken {
    const authTime = claims.auth_time;
    return new VerifiedToken(claims.sid, claims.sub, claims.uid ?? claims.sub, roles, claims.exp, typeof authTime === 'number' ? authTime * 1000 : null, claims.cnf?.jkt ?? null);
  }
}

/** At most this many distinct role lists are shared between cache entries; more are kept apiece. */
const MAX_SHARED_ROLE_LISTS = 1_024;

/**
 * A bounded map of verified tokens, keyed by the whole token string. Eviction is FIFO with a
 * second chance (CLOCK): a token hit since it was last considered goes back to the end instead
 * of out, so tokens in use stay while one-off ones leave first, and a hit costs one `Map.get`
 * and a flag instead of an LRU's list update. Expired tokens are evicted first. No memory is
 * reserved up front for the capacity.
 */
export class VerifiedTokenCache {
  private readonly map = new Map<string, VerifiedToken>();
  private readonly roleLists = new Map<string, readonly string[]>();

  constructor(
    private readonly max: number,
    private readonly skewSeconds: number,
  ) {}

  get(token: string): VerifiedToken | undefined {
    const entry = this.map.get(token);
    if (entry !== undefined && !entry.hit) entry.hit = true;
    return entry;
  }

  /** Remembers a token whose signature and claims have just been verified. */
  set(token: string, claims: AccessClaims): VerifiedToken {
    const entry = VerifiedToken.of(claims, this.internRoles(claims.roles));
    if (!this.map.has(token)) {
      while (this.map.size >= this.max) this.evictOne();
      // A copy of the token's characters, not the string the request's parser made: a slice of
      // a Cookie header keeps the whole header (every other cookie too) alive as long as it is a key.
      token = Buffer.from(token, 'latin1').toString('latin1');
    }
    this.map.set(token, entry);
    return entry;
  }

  /** Tokens held now. */
  get size(): number {
    return this.map.size;
  }

  private evictOne(): void {
    const now = Date.now();
    for (const [token, entry] of this.map) {
      this.map.delete(token);
      if (!entry.hit || isExpired(entry, now, this.skewSeconds)) return;
      entry.hit = false;
      this.map.set(token, entry); // visited again, flag clear, after every other entry
    }
  }

  /** One frozen array per distinct list of roles (most apps have a handful), bounded. */
  private internRoles(roles: string[]): readonly string[] {
    const key = JSON.stringify(roles);
    const shared = this.roleLists.get(key);
    if (shared) return shared;
    const list = Object.freeze([...roles]);
    if (this.roleLists.size < MAX_SHARED_ROLE_LISTS) this.roleLists.set(key, list);
    return list;
  }
}
