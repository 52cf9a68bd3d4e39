import { Inject, Injectable } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { SessionService } from '../session.service';
import { SessionStore } from '../store/session.store';
import { AccessTokenService } from '../tokens/access-token';
import { parseRefreshToken } from '../tokens/refresh-token';
import { NotFoundError, UnauthenticatedError } from '../errors/session-error';
import { grantOf, type PresentedRefreshToken, type SessionGrant } from '../session-grant';
import { DbscChallenges } from './dbsc-challenges';
import { DBSC_ALGORITHMS, DbscProofError, verifyDbscRefresh, verifyDbscRegistration } from './dbsc-proof';

/** A challenge handed out with one answer stays good until the next refresh could come: the token's life and some. */
const CHALLENGE_SLACK_MS = 5 * 60_000;

/**
 * Device Bound Session Credentials (W3C DBSC) for cookie sessions: registration binds a session
 * to the browser's key (once), and a refresh of a bound session needs a proof of that key. HTTP
 * stays in the controller; this says what each step means.
 */
@Injectable()
export class DeviceSessions {
  private readonly challenges: DbscChallenges | null;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly sessions: SessionService,
    private readonly store: SessionStore,
    private readonly accessTokens: AccessTokenService,
  ) {
    this.challenges = options.dbscKey ? new DbscChallenges(options.dbscKey, options.accessTokenTtlMs + CHALLENGE_SLACK_MS) : null;
  }

  get enabled(): boolean {
    return this.challenges !== null;
  }

  /** `Secure-Session-Registration` for a new cookie session: the algorithms, the route and a challenge. */
  registrationHeader(sessionId: string, refreshPath: string): string {
    return `(${DBSC_ALGORITHMS.join(' ')});path="${refreshPath}/dbsc/register";challenge="${this.on().make(sessionId, Date.now())}"`;
  }

  /** `Secure-Session-Challenge` for the session's next proof. */
  challengeHeader(sessionId: string): string {
    return `"${this.on().make(sessionId, Date.now())}";id="${sessionId}"`;
  }

  /**
   * Binds the session of `accessToken` (the access cookie the registration request carries) to
   * the key of the proof, if it answers a challenge for that session and the session is not bound
   * yet. Returns a grant with an access token whose cookie lives as long as it (no new refresh token).
   */
  async register(accessToken: string | null, proof: string | undefined): Promise<SessionGrant> {
    const challenges = this.on();
    if (!accessToken || !proof) throw new UnauthenticatedError();
    const nowMs = Date.now();
    const claims = await this.accessTokens.verify(accessToken, nowMs);
    await this.sessions.assertLive(claims);
    const registration = await verifyDbscRegistration(proof).catch(refused);
    if (!challenges.isValid(registration.jti, claims.sid, nowMs)) throw new UnauthenticatedError();
    const row = await this.store.bindDeviceKey(claims.sid, registration.jkt, registration.publicJwk, new Date(nowMs));
    if (!row) throw new UnauthenticatedError();
    const user = { id: claims.uid ?? claims.sub, roles: claims.roles };
    const access = await this.accessTokens.sign(user, claims.sid, nowMs, row.absoluteExpiresAt.getTime(), row.authenticatedAt.getTime());
    return grantOf(this.options.csrfKey, { transport: 'cookie', sessionId: claims.sid, access, sessionExpiresAt: row.expiresAt, persistent: row.persistent, jkt: registration.jkt });
  }

  /**
   * A bound session's refresh: the proof must answer a challenge for it, signed by its key; then
   * the refresh cookie rotates as on the plain route. The session id the token names.
   */
  async refresh(presented: PresentedRefreshToken, proof: string, ip: string | undefined): Promise<SessionGrant> {
    const challenges = this.on();
    const sessionId = parseRefreshToken(presented.token)?.sessionId;
    const row = sessionId ? await this.store.findForRefresh(sessionId) : null;
    if (!sessionId || !row?.deviceKey || presented.via !== 'cookie') throw new UnauthenticatedError();
    const jti = await verifyDbscRefresh(proof, row.deviceKey).catch(refused);
    if (!challenges.isValid(jti, sessionId, Date.now())) throw new UnauthenticatedError();
    return this.sessions.refresh(presented, { ip, jkt: row.keyJkt });
  }

  /** The session instructions DBSC answers with: the refresh route, the scope, the bound cookie. */
  sessionJson(sessionId: string, refreshPath: string): Record<string, unknown> {
    const secure = this.options.cookies.secure ? 'Secure; ' : '';
    return {
      session_identifier: sessionId,
      refresh_url: `${refreshPath}/dbsc/refresh`,
      scope: { include_site: false, scope_specification: [] },
      credentials: [{ type: 'cookie', name: this.options.cookies.accessName, attributes: `${secure}HttpOnly; SameSite=Lax; Path=/` }],
      allowed_refresh_initiators: [],
    };
  }

  private on(): DbscChallenges {
    if (!this.challenges) throw new NotFoundError();
    return this.challenges;
  }
}

function refused(error: unknown): never {
  throw error instanceof DbscProofError ? new UnauthenticatedError() : error;
}
