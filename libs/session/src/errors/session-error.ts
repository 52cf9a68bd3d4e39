import { HttpException, HttpStatus } from '@nestjs/common';
import { DPOP_ALGORITHMS } from '../dpop/dpop-algorithms';

const DPOP_ALGS = DPOP_ALGORITHMS.join(' ');

/** The stable error codes the library answers with. Apps define their own beside them. */
export type SessionErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHENTICATED'
  | 'ACCESS_TOKEN_EXPIRED'
  | 'SESSION_REVOKED'
  | 'REAUTHENTICATION_REQUIRED'
  | 'CSRF_REJECTED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'SESSION_LIMIT_REACHED'
  | 'DPOP_PROOF_INVALID'
  | 'DPOP_PROOF_REQUIRED'
  | 'DPOP_NONCE_REQUIRED'
  | 'DEVICE_PROOF_REQUIRED'
  | 'SERVICE_UNAVAILABLE';

/**
 * Base of every error the library throws at a request. The HTTP body is always
 * `{ statusCode, code, message }`; messages are fixed strings so that nothing a
 * client sent (a token, a cookie) can be echoed back.
 */
export class SessionError extends HttpException {
  constructor(
    readonly code: SessionErrorCode,
    status: HttpStatus,
    message: string,
  ) {
    super({ statusCode: status, code, message }, status);
  }
}

/** 401 for anything that fails to authenticate; deliberately does not say which check failed. */
export class UnauthenticatedError extends SessionError {
  constructor(message = 'Authentication required.') {
    super('UNAUTHENTICATED', HttpStatus.UNAUTHORIZED, message);
  }
}

/** 401 after a valid signature, `typ`, `iss` and `aud`: the client should call `/auth/refresh`. */
export class AccessTokenExpiredError extends SessionError {
  constructor() {
    super('ACCESS_TOKEN_EXPIRED', HttpStatus.UNAUTHORIZED, 'The access token has expired; refresh it.');
  }
}

/** 401: the session has ended (logout, revocation, reuse detection). No reason is given. */
export class SessionRevokedError extends SessionError {
  constructor() {
    super('SESSION_REVOKED', HttpStatus.UNAUTHORIZED, 'The session has ended; log in again.');
  }
}

/** 401: the session ran past its idle or absolute lifetime; the user must log in again. */
export class ReauthenticationRequiredError extends SessionError {
  constructor(message = 'The session has expired; log in again.') {
    super('REAUTHENTICATION_REQUIRED', HttpStatus.UNAUTHORIZED, message);
  }
}

/** 403: a signed-in user lacks a role the route requires. */
export class ForbiddenError extends SessionError {
  constructor(message = 'You are not allowed to do this.') {
    super('FORBIDDEN', HttpStatus.FORBIDDEN, message);
  }
}

/** 403: a cookie-authenticated unsafe request failed the CSRF checks. */
export class CsrfRejectedError extends SessionError {
  constructor() {
    super('CSRF_REJECTED', HttpStatus.FORBIDDEN, 'The request failed the CSRF check.');
  }
}

/** 404, also for resources that exist but belong to someone else. */
export class NotFoundError extends SessionError {
  constructor(message = 'Not found.') {
    super('NOT_FOUND', HttpStatus.NOT_FOUND, message);
  }
}

/** 429: too many requests of one kind (grace-window refreshes of one generation). */
export class RateLimitedError extends SessionError {
  constructor(readonly retryAfterSeconds: number) {
    super('RATE_LIMITED', HttpStatus.TOO_MANY_REQUESTS, 'Too many requests; try again later.');
  }
}

/** 409 when a login would pass the per-user session limit and the policy is to refuse it. */
export class SessionLimitReachedError extends SessionError {
  constructor() {
    super('SESSION_LIMIT_REACHED', HttpStatus.CONFLICT, 'Too many active sessions; end one of them first.');
  }
}

/**
 * A DPoP-bound request (RFC 9449) whose proof is missing, malformed, replayed or made by another
 * key, or a bound token presented as `Bearer`. `wwwAuthenticate` is the challenge RFC 9449 §7
 * asks for, which the library's edge writes beside the 401; the message never says which check
 * failed.
 */
export class DpopProofInvalidError extends SessionError {
  readonly wwwAuthenticate = `DPoP error="invalid_dpop_proof", algs="${DPOP_ALGS}"`;

  constructor() {
    super('DPOP_PROOF_INVALID', HttpStatus.UNAUTHORIZED, 'The DPoP proof is missing or invalid.');
  }
}

/**
 * DPoP is required and the request has no proof: 400 at a bearer login (D21), 401 with the
 * `WWW-Authenticate: DPoP` challenge on a resource or a refresh.
 */
export class DpopProofRequiredError extends SessionError {
  readonly wwwAuthenticate = `DPoP algs="${DPOP_ALGS}"`;

  constructor(status: HttpStatus.BAD_REQUEST | HttpStatus.UNAUTHORIZED = HttpStatus.UNAUTHORIZED) {
    super('DPOP_PROOF_REQUIRED', status, 'This session must be bound to a key with a DPoP proof.');
  }
}

/**
 * 401: DPoP proofs need a server nonce (`dpopNonce`) and this one had none, or an old one. The
 * client retries with `dpopNonce`, which the edge sends as the `DPoP-Nonce` header (RFC 9449 §8).
 */
export class DpopNonceRequiredError extends SessionError {
  readonly wwwAuthenticate = `DPoP error="use_dpop_nonce", algs="${DPOP_ALGS}"`;

  constructor(readonly dpopNonce: string) {
    super('DPOP_NONCE_REQUIRED', HttpStatus.UNAUTHORIZED, 'Retry with the nonce in the DPoP-Nonce header.');
  }
}

/**
 * 401: the refresh cookie of a session bound to the browser's device key (DBSC) came to the plain
 * refresh route: only the browser, with a proof of that key, refreshes it (`…/dbsc/refresh`).
 */
export class DeviceProofRequiredError extends SessionError {
  constructor() {
    super('DEVICE_PROOF_REQUIRED', HttpStatus.UNAUTHORIZED, 'This session is refreshed by the browser with its device key.');
  }
}

/** 503 at the edge for a `SessionStoreUnavailableError`: the request failed closed; the client may retry. */
export class ServiceUnavailableError extends SessionError {
  constructor() {
    super('SERVICE_UNAVAILABLE', HttpStatus.SERVICE_UNAVAILABLE, 'The service is temporarily unavailable.');
  }
}

/**
 * The session store (or the app's `loadUser`) failed or did not answer in time. A plain error,
 * not an HTTP one: services throw it, and the edge (guards, the library's routes,
 * `SessionHttp`) answers it with a 503 `SERVICE_UNAVAILABLE`. Its message never carries SQL.
 */
export class SessionStoreUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`nest-sessions: the session store is unavailable (${reason})`);
    this.name = 'SessionStoreUnavailableError';
  }
}

/** The HTTP error for a failure: store failures become a 503, everything else is returned as is. */
export function toHttpError(error: unknown): unknown {
  return error instanceof SessionStoreUnavailableError ? new ServiceUnavailableError() : error;
}
