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
import { DBSC_ALGORITHMS, verifyDbscRefresh, verifyDbscRegistration } from './dbsc-proof';
import { KeyProofError } from '../tokens/key-proof';

/** A challenge handed out with one answer stays good until the next refresh could come: the token's life and some. */
const CHALLENGE_SLACK_MS = 5 * 60_000;
/** The browser registers right after the login answer; a session older than this can no longer be bound. */
const REGISTRATION_WINDOW_MS = 2 * 60_000;

/** A grant, and the challenge the browser answers at its next refresh (`Secure-Session-Challenge`). */
export interface DeviceGrant {
  grant: SessionGrant;
  nextChallenge: string;
}

/**
 * Device Bound Session Credentials (W3C DBSC) for cookie sessions: registration binds a new
 * session to the browser's key (once, within two minutes of the login), and a refresh of a bound
 * session needs a proof of that key answering a challenge for its current generation, so a proof
 * answers one refresh at most. HTTP stays in the controller; this says what each step means.
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
    this.challenges = options.dbscKey ? new DbscChallenges(options.dbscKey, options.accessTokenTtlMs + CHALLENGE_SLACK_MS, REGISTRATION_WINDOW_MS) : null;
  }

  get enabled(): boolean {
    return this.challenges !== null;
  }

  /** `Secure-Session-Registration` for a new cookie session: the algorithms, the route and a registration challenge. */
  registrationHeader(sessionId: string, refreshPath: string): string {
    const challenge = this.on().make({ purpose: 'register', sessionId }, Date.now());
    return `(${DBSC_ALGORITHMS.join(' ')});path="${refreshPath}/dbsc/register";challenge="${challenge}"`;
  }

  /** `Secure-Session-Challenge` carrying `challenge` for the session. */
  challengeHeader(sessionId: string, challenge: string): string {
    return `"${challenge}";id="${sessionId}"`;
  }

  /**
   * Binds the session of `accessToken` (the access cookie the registration request carries) to
   * the key of the proof, if it answers the registration challenge of that session's login and the
   * session is new and not bound yet. The grant has a fresh access token (roles read again) whose
   * cookie lives as long as it; the refresh token stays.
   */
  async register(accessToken: string | null, proof: string | undefined): Promise<DeviceGrant> {
    const challenges = this.on();
    if (!accessToken || !proof) throw new UnauthenticatedError();
    const nowMs = Date.now();
    const claims = await this.accessTokens.verify(accessToken, nowMs);
    await this.sessions.assertLive(claims);
    const registration = await verifyDbscRegistration(proof).catch(refused);
    if (!challenges.isValid(registration.jti, { purpose: 'register', sessionId: claims.sid }, nowMs)) throw new UnauthenticatedError();
    const row = await this.store.bindDeviceKey(claims.sid, registration.jkt, registration.publicJwk, new Date(nowMs), new Date(nowMs - challenges.registerValidMs));
    if (!row) throw new UnauthenticatedError();
    const user = await this.sessions.currentUser(claims.sid, claims.uid ?? claims.sub);
    if (!user) throw new UnauthenticatedError();
    const access = await this.accessTokens.sign(user, claims.sid, nowMs, row.absoluteExpiresAt.getTime(), row.authenticatedAt.getTime());
    const grant = grantOf(this.options.csrfKey, { transport: 'cookie', sessionId: claims.sid, access, sessionExpiresAt: row.expiresAt, persistent: row.persistent, jkt: registration.jkt });
    return { grant, nextChallenge: challenges.make({ purpose: 'refresh', sessionId: claims.sid, generation: row.generation }, nowMs) };
  }

  /** A challenge for the next refresh of a bound, open session; null for any other session. */
  async refreshChallenge(sessionId: string): Promise<string | null> {
    const challenges = this.on();
    const row = await this.store.findForRefresh(sessionId);
    if (!row?.deviceKey || row.revokedAt) return null;
    return challenges.make({ purpose: 'refresh', sessionId, generation: row.generation }, Date.now());
  }

  /**
   * A bound session's refresh: once the attempt is counted against the rate limits, the proof must
   * answer a challenge for the session's current generation, signed by its key; then the refresh
   * cookie rotates as on the plain route.
   */
  async refresh(presented: PresentedRefreshToken, proof: string, ip: string | undefined): Promise<DeviceGrant> {
    const challenges = this.on();
    const sessionId = parseRefreshToken(presented.token)?.sessionId;
    if (!sessionId || presented.via !== 'cookie') throw new UnauthenticatedError();
    let generation = 0;
    const proofKey = async () => {
      const row = await this.store.findForRefresh(sessionId);
      if (!row?.deviceKey) throw new UnauthenticatedError();
      const jti = await verifyDbscRefresh(proof, row.deviceKey).catch(refused);
      if (!challenges.isValid(jti, { purpose: 'refresh', sessionId, generation: row.generation }, Date.now())) throw new UnauthenticatedError();
      generation = row.generation;
      return row.keyJkt;
    };
    const grant = await this.sessions.refresh(presented, { ip, proofKey });
    // A rotation moved the generation on; a grace-window answer (no new refresh token) did not.
    const next = grant.refreshToken ? generation + 1 : generation;
    return { grant, nextChallenge: challenges.make({ purpose: 'refresh', sessionId, generation: next }, Date.now()) };
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
  throw error instanceof KeyProofError ? new UnauthenticatedError() : error;
}
