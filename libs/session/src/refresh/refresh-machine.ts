import type { Logger } from '@nestjs/common';
import type { ResolvedSessionOptions } from '../resolve-options';
import type { AccessTokenService } from '../tokens/access-token';
import { formatRefreshToken, hashesEqual, hashRefreshSecret, newRefreshSecret, parseRefreshToken } from '../tokens/refresh-token';
import type { SessionStore, RefreshRow } from '../store/session.store';
import type { SessionEvents } from '../events/session-events';
import type { RefreshOutcome, SessionTelemetry } from '../telemetry/session-telemetry';
import type { SessionRateLimiter, PendingRateLimit } from '../rate-limit/session-rate-limiter';
import { DeviceProofRequiredError, DpopProofInvalidError, DpopProofRequiredError, RateLimitedError, ReauthenticationRequiredError, SessionError, SessionRevokedError, UnauthenticatedError } from '../errors/session-error';
import type { SessionEnder } from '../session-ender';
import type { SessionUsers } from '../session-users';
import { grantOf, type PresentedRefreshToken, type RefreshClient, type SessionGrant } from '../session-grant';
import type { UserId } from '../session.types';
import { restoreUserId } from '../user-id';
import { decideRefresh, type SecretMatch } from './refresh-decision';

/** The store calls a refresh makes: the SQL of each is in `SessionStore`. */
export type RefreshStore = Pick<SessionStore, 'rotateCurrent' | 'findForRefresh' | 'findLineage' | 'rotate' | 'countGraceHit' | 'undoRotation'>;

/** What the refresh machine works with; `SessionService` builds it, a unit spec gives it fakes. */
export interface RefreshMachineParts {
  options: Pick<
    ResolvedSessionOptions,
    'refreshPepper' | 'refreshPeppers' | 'refreshReuseGraceMs' | 'graceRefreshLimit' | 'idleTimeoutMs' | 'lineageSize' | 'csrfKey' | 'dpop'
  >;
  store: RefreshStore;
  tokens: Pick<AccessTokenService, 'sign'>;
  limiter: Pick<SessionRateLimiter, 'refreshAttempt' | 'spend' | 'spendInRow' | 'chargeFailed' | 'refusedInline' | 'explainFailure'>;
  events: Pick<SessionEvents, 'emit'>;
  ender: Pick<SessionEnder, 'end'>;
  users: Pick<SessionUsers, 'current'>;
  logger: Pick<Logger, 'warn'>;
  telemetry: Pick<SessionTelemetry, 'refreshed' | 'rateLimited'>;
  /** The server clock in milliseconds: every expiry is decided by it, never by the client. */
  clock: () => number;
}

/** What the token named, for the `refresh_failed` event, and what a refusal turned out to be. */
interface Seen {
  sessionId: string | null;
  userId: UserId | null;
  outcome?: RefreshOutcome;
}

/**
 * Refresh-token rotation with reuse detection. The current secret rotates once (compare-and-swap
 * on the generation); the one just rotated out, within the grace window, gets an access token
 * only; any other secret the session issued revokes the whole session; a secret it never issued
 * is refused without touching anything. Every transition is in `decideRefresh`.
 */
export class RefreshMachine {
  constructor(private readonly parts: RefreshMachineParts) {}

  /** Rotates a refresh token; a refusal also emits `refresh_failed` with its code. */
  async refresh(presented: PresentedRefreshToken, client: RefreshClient = {}): Promise<SessionGrant> {
    const seen: Seen = { sessionId: null, userId: null };
    const started = performance.now();
    try {
      const grant = await this.rotate(presented, client, seen);
      this.parts.telemetry.refreshed(grant.refreshToken ? 'rotated' : 'grace', (performance.now() - started) / 1000);
      return grant;
    } catch (error) {
      const code = error instanceof SessionError ? error.code : 'SERVICE_UNAVAILABLE';
      this.parts.telemetry.refreshed(seen.outcome ?? outcomeOf(code), (performance.now() - started) / 1000);
      this.parts.events.emit('refresh_failed', { sessionId: seen.sessionId, userId: seen.userId, at: new Date(this.parts.clock()), code });
      throw error;
    }
  }

  /**
   * The session a refresh token proves it holds (any secret it issued), or null: for logout. A
   * DPoP-bound session's secret proves it only with a proof by its key (`jkt`), so a copied secret
   * cannot sign its owner out (a DBSC-bound cookie session's can: see docs/dbsc.md).
   */
  async sessionOf(presented: PresentedRefreshToken | null, jkt: string | null = null): Promise<string | null> {
    const parsed = presented ? parseRefreshToken(presented.token) : null;
    if (!parsed) return null;
    const row = await this.parts.store.findForRefresh(parsed.sessionId);
    // A DPoP-bound session's secret proves it only beside its key. A DBSC-bound one's proves it
    // alone: the browser sends no proof with a logout, so its owner could not sign out otherwise.
    if (!row || (row.transport === 'bearer' && row.keyJkt !== null && row.keyJkt !== jkt)) return null;
    return (await this.classify(parsed.sessionId, row, this.hashesOf(parsed.secret))) ? parsed.sessionId : null;
  }

  private async rotate(presented: PresentedRefreshToken, client: RefreshClient, seen: Seen): Promise<SessionGrant> {
    const { limiter } = this.parts;
    const parsed = parseRefreshToken(presented.token);
    seen.sessionId = parsed?.sessionId ?? null;
    // Counted before the secret is checked: guessing costs attempts, and a session id alone
    // (which is not secret) cannot be used to make the database work without limit.
    const limits = await limiter.refreshAttempt(client.ip, parsed?.sessionId ?? null);
    if (!parsed) {
      await limiter.spend(limits);
      throw new UnauthenticatedError();
    }
    const hashes = this.hashesOf(parsed.secret);
    let jkt: string | null;
    try {
      jkt = client.proofKey ? await client.proofKey() : client.jkt ?? null;
    } catch (error) {
      await limiter.spend(limits);
      throw error;
    }
    try {
      return await this.rotateParsed(parsed.sessionId, hashes, presented.via, jkt, limits, seen);
    } catch (error) {
      // A refusal the client earned (not a failure of the store or of loadUser) costs the address
      // an attempt (and the session one, if not paid yet), before it is answered. A limit's own
      // 429 costs nothing: it has none left (`refuse` marks it, so `chargeFailed` skips it).
      if (error instanceof SessionError && error.getStatus() < 500) await limiter.chargeFailed(limits);
      throw error;
    }
  }

  private async rotateParsed(sessionId: string, hashes: Buffer[], via: PresentedRefreshToken['via'], jkt: string | null, limits: PendingRateLimit[], seen: Seen): Promise<SessionGrant> {
    const rotated = await this.rotateCurrent(sessionId, hashes, via, jkt, limits, seen);
    if (rotated) return rotated;
    // Not the current secret of an open session of this transport: classify it with the full
    // row. A second pass only follows a lost compare-and-swap, which makes the secret previous.
    for (let attempt = 0; attempt < 2; attempt++) {
      const row = await this.parts.store.findForRefresh(sessionId);
      if (row) seen.userId = restoreUserId(row.userId, row.userIdNumeric);
      const match = row ? await this.classify(sessionId, row, hashes) : null;
      const granted = await this.apply(sessionId, row, match, via, jkt, seen);
      if (granted) return granted;
    }
    throw new SessionRevokedError();
  }

  /** Carries out the decision for this row; null when a parallel refresh won the rotation. */
  private async apply(sessionId: string, row: RefreshRow | null, match: SecretMatch, via: PresentedRefreshToken['via'], jkt: string | null, seen: Seen): Promise<SessionGrant | null> {
    const { options, store, ender, logger, events } = this.parts;
    const nowMs = this.parts.clock();
    const now = new Date(nowMs);
    const decision = decideRefresh(row, match, via, nowMs, options.refreshReuseGraceMs, jkt, options.dpop === 'required');
    switch (decision.kind) {
      case 'unknown':
        throw new UnauthenticatedError();
      case 'ended':
        // A session the cleanup found ran out answers as if it had just been noticed.
        throw decision.ranOut ? new ReauthenticationRequiredError() : new SessionRevokedError();
      case 'expired':
        await ender.end(sessionId, decision.reason, now);
        throw new ReauthenticationRequiredError();
      case 'reuse':
        await ender.end(sessionId, 'reuse_detected', now);
        // After the revocation stands: a failed one is an error, not a detection.
        seen.outcome = 'reuse_detected';
        logger.warn(`refresh token reuse detected; session ${sessionId} of user ${row!.userId} revoked`);
        events.emit('reuse_detected', { sessionId, userId: restoreUserId(row!.userId, row!.userIdNumeric), at: now });
        throw new SessionRevokedError();
      case 'key_mismatch':
        seen.outcome = 'theft_suspected';
        logger.warn(`refresh secret of device-bound session ${sessionId} of user ${row!.userId} presented without its key; refused, session kept`);
        events.emit('theft_suspected', { sessionId, userId: restoreUserId(row!.userId, row!.userIdNumeric), at: now });
        throw row!.transport === 'cookie' ? new DeviceProofRequiredError() : new DpopProofInvalidError();
      case 'unbound':
        throw new DpopProofRequiredError();
      case 'transport_mismatch':
        await ender.end(sessionId, 'transport_mismatch', now);
        logger.warn(`refresh token sent over the wrong transport; session ${sessionId} of user ${row!.userId} revoked`);
        throw new SessionRevokedError();
    }
    const open = row!;
    // Roles are re-read at every refresh, before the rotating write (one connection: no nesting).
    const user = await this.parts.users.current(sessionId, restoreUserId(open.userId, open.userIdNumeric), now);
    if (decision.kind === 'grace') {
      // The previous secret may mint a few access tokens (parallel tabs), not any number of them.
      if (!(await store.countGraceHit(sessionId, open.generation, options.graceRefreshLimit))) {
        this.parts.telemetry.rateLimited('refresh_grace');
        throw new RateLimitedError(Math.max(1, Math.ceil(options.refreshReuseGraceMs / 1000)));
      }
      const access = await this.parts.tokens.sign(user, sessionId, nowMs, open.absoluteExpiresAt.getTime(), open.authenticatedAt.getTime(), confirmation(open));
      return grantOf(options.csrfKey, { transport: open.transport, sessionId, access, sessionExpiresAt: open.expiresAt, persistent: open.persistent, jkt: open.keyJkt });
    }
    const secret = newRefreshSecret();
    const expiresAt = new Date(Math.min(nowMs + (open.idleTimeoutMs ?? options.idleTimeoutMs), open.absoluteExpiresAt.getTime()));
    const newHash = hashRefreshSecret(secret, options.refreshPepper);
    if (!(await store.rotate(sessionId, open.generation, newHash, now, expiresAt, options.lineageSize))) return null;
    const access = await this.parts.tokens.sign(user, sessionId, nowMs, open.absoluteExpiresAt.getTime(), open.authenticatedAt.getTime(), confirmation(open));
    events.emit('refreshed', { sessionId, userId: user.id, at: now });
    const refreshToken = formatRefreshToken(sessionId, secret);
    return grantOf(options.csrfKey, { transport: open.transport, sessionId, access, sessionExpiresAt: expiresAt, persistent: open.persistent, refreshToken, jkt: open.keyJkt });
  }

  /**
   * The common refresh: the address's limit is read, the session's spent and the current secret
   * rotated in one statement. Null when the secret is not the current one of an open session of
   * this transport (the caller classifies it). The app's `loadUser` runs after the write, as no
   * connection is held then; if it fails, the rotation is undone, so the secret the client still
   * holds stays current instead of turning into reuse.
   */
  private async rotateCurrent(
    sessionId: string,
    hashes: Buffer[],
    via: PresentedRefreshToken['via'],
    jkt: string | null,
    limits: PendingRateLimit[],
    seen: Seen,
  ): Promise<SessionGrant | null> {
    const { options, store, limiter } = this.parts;
    const secret = newRefreshSecret();
    const newHash = hashRefreshSecret(secret, options.refreshPepper);
    const nowMs = this.parts.clock();
    const now = new Date(nowMs);
    const rotation = { id: sessionId, hashes, newHash, now, idleTimeoutMs: options.idleTimeoutMs, lineageSize: options.lineageSize, viaCookie: via === 'cookie', jkt, keyRequired: via === 'body' && options.dpop === 'required', limits };
    const result = await store.rotateCurrent(rotation).catch((error: unknown) => {
      limiter.explainFailure(error);
      throw error;
    });
    if (result.outcome === 'limited') limiter.refusedInline(limits[result.index], result.prior, nowMs);
    if (result.outcome !== 'rotated') {
      // Not rotated, so the update spent nothing of the session's own limit: it is paid now, before
      // the classification can answer (a grace answer too), as every attempt on a session counts.
      await limiter.spendInRow(limits);
      return null;
    }
    const row = result.row;
    const userId = restoreUserId(row.userId, row.userIdNumeric);
    seen.userId = userId;
    const user = await this.parts.users.current(sessionId, userId, now).catch(async (error: unknown) => {
      // A session the app no longer knows was just ended; anything else must not cost the secret.
      if (!(error instanceof SessionRevokedError)) await store.undoRotation(sessionId, row.generation, newHash, row.previousRotatedAt).catch(() => false);
      throw error;
    });
    const access = await this.parts.tokens.sign(user, sessionId, nowMs, row.absoluteExpiresAt.getTime(), row.authenticatedAt.getTime(), confirmation(row));
    this.parts.events.emit('refreshed', { sessionId, userId: user.id, at: now });
    const refreshToken = formatRefreshToken(sessionId, secret);
    return grantOf(options.csrfKey, { transport: row.transport, sessionId, access, sessionExpiresAt: row.expiresAt, persistent: row.persistent, refreshToken, jkt: row.keyJkt });
  }

  /** Under every pepper still accepted: a session rotated before a `sessionSecret` change still matches. */
  private hashesOf(secret: string): Buffer[] {
    return this.parts.options.refreshPeppers.map((pepper) => hashRefreshSecret(secret, pepper));
  }

  /**
   * Which of the session's secrets this is, compared in constant time: the current one, the
   * previous one, an older one of the lineage (read only now: the common case never needs it),
   * or none it ever issued.
   */
  private async classify(sessionId: string, row: RefreshRow, hashes: Buffer[]): Promise<SecretMatch> {
    const matches = (stored: Buffer | null | undefined) => hashes.reduce((found, hash) => hashesEqual(stored, hash) || found, false);
    if (matches(row.secretHash)) return 'current';
    if (matches(row.previousHash)) return 'previous';
    if (!row.previousHash) return null;
    const lineage = await this.parts.store.findLineage(sessionId);
    let found = false;
    // Walk the whole lineage so the time taken does not say which generation matched.
    for (let i = 1; i < lineage.length; i++) found = matches(lineage[i]) || found;
    return found ? 'older' : null;
  }
}

/**
 * The `cnf.jkt` an access token carries: a DPoP-bound bearer session's key. A DBSC-bound cookie
 * session's token carries none: the browser proves its key to the refresh route, not per request.
 */
function confirmation(row: { transport: 'cookie' | 'bearer'; keyJkt: string | null }): string | null {
  return row.transport === 'bearer' ? row.keyJkt : null;
}

/** A refusal's outcome by its code, when the decision did not name it. */
function outcomeOf(code: string): RefreshOutcome {
  switch (code) {
    case 'RATE_LIMITED':
      return 'rate_limited';
    case 'REAUTHENTICATION_REQUIRED':
      return 'expired';
    case 'SESSION_REVOKED':
      return 'revoked';
    case 'SERVICE_UNAVAILABLE':
      return 'error';
    default:
      return 'invalid';
  }
}
