import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { DpopNonceRequiredError, DpopProofInvalidError, DpopProofRequiredError } from '../errors/session-error';
import { DpopNonces } from './dpop-nonce';
import { ProofLedger } from './proof-ledger';
import { SessionRateLimiter } from '../rate-limit/session-rate-limiter';
import type { RequestLike } from '../http/http-types';
import { ownOrigins } from '../http/request-origin';
import { contextTypeOf } from '../http/request-of-context';
import { verifyDpopProof, type VerifiedDpopProof } from './dpop-proof';
import { KeyProofError } from '../tokens/key-proof';

/** How old a proof may be (its `iat`); RFC 9449 §11.1 asks for a short window. */
export const DPOP_PROOF_MAX_AGE_MS = 60_000;

/**
 * DPoP proofs of requests (RFC 9449), for the bearer transport when `dpop` is on: each proof is
 * verified for the request that carries it and spent once. A proof's `jti` is remembered in the
 * rate-limit store (by default the app's Postgres, so every instance refuses a proof another one
 * has seen) for as long as the proof could still be accepted.
 */
@Injectable()
export class DpopProofs {
  private readonly nonces: DpopNonces | null;
  private readonly ledger: ProofLedger;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly limiter: SessionRateLimiter,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.nonces = options.dpopNonceKey ? new DpopNonces(options.dpopNonceKey) : null;
    this.ledger = new ProofLedger(limiter);
  }

  get mode(): ResolvedSessionOptions['dpop'] {
    return this.options.dpop;
  }

  /**
   * The request's proof, verified against its method and URL (and `ath` against `accessToken`)
   * and spent; null when the request has no `DPoP` header. Throws `DpopProofInvalidError`.
   */
  async proofOf(req: RequestLike, accessToken?: string): Promise<VerifiedDpopProof | null> {
    const header = req.headers.dpop;
    if (header === undefined) return null;
    if (this.options.dpop === 'off' || typeof header !== 'string') throw this.invalid();
    const skewMs = this.options.clockSkewMs;
    let proof: VerifiedDpopProof;
    const nowMs = Date.now();
    try {
      proof = await verifyDpopProof(header, {
        method: (req.method ?? '').toUpperCase(),
        urls: requestUrls(req, this.options.csrf.appOrigin),
        accessToken,
        nowMs,
        maxAgeMs: DPOP_PROOF_MAX_AGE_MS,
        skewMs,
      });
    } catch (error) {
      throw error instanceof KeyProofError ? this.invalid() : error;
    }
    // Checked before the proof is spent: the client retries with a new proof anyway.
    if (this.nonces && !this.nonces.isValid(proof.nonce, nowMs)) throw new DpopNonceRequiredError(this.nonces.current(nowMs));
    // Kept for as long as the proof could be accepted: its age window and the skew either side.
    if (!(await this.ledger.firstSight(`dpop:${proof.jkt}:${proof.jti}`, DPOP_PROOF_MAX_AGE_MS + 2 * skewMs))) throw this.invalid();
    return proof;
  }

  /**
   * Checks an access token's binding on a request: a bound token (`jkt`) needs
   * `Authorization: DPoP` and a proof by its key; a plain one must not come as `DPoP`, and in
   * `required` mode a plain bearer token is refused.
   */
  async assertBinding(req: RequestLike, token: string, jkt: string | null, presentedAsDpop: boolean): Promise<void> {
    if (jkt === null) {
      if (presentedAsDpop) throw this.invalid();
      if (this.options.dpop === 'required') throw this.required();
      return;
    }
    if (!presentedAsDpop) throw this.invalid();
    const proof = await this.proofOf(req, token);
    if (!proof || proof.jkt !== jkt) throw this.invalid();
  }

  private invalid(): DpopProofInvalidError {
    return new DpopProofInvalidError();
  }

  private required(): DpopProofRequiredError {
    return new DpopProofRequiredError();
  }

  /** Writes a DPoP error's `WWW-Authenticate` challenge on the response of an HTTP context. */
  challenge(context: ExecutionContext, error: unknown): void {
    if (contextTypeOf(context) !== 'http') return;
    this.challengeOn(context.switchToHttp().getResponse(), error);
  }

  /** The same on a response the caller holds; with the nonce to retry with, for `use_dpop_nonce`. */
  challengeOn(res: object, error: unknown): void {
    const header = (error as { wwwAuthenticate?: unknown })?.wwwAuthenticate;
    const adapter = this.adapterHost.httpAdapter;
    if (typeof header !== 'string' || !adapter || adapter.isHeadersSent(res)) return;
    adapter.setHeader(res, 'WWW-Authenticate', header);
    if (error instanceof DpopNonceRequiredError) adapter.setHeader(res, 'DPoP-Nonce', error.dpopNonce);
  }

  /** When nonces are on: the next nonce on an answer to a DPoP request (RFC 9449 §8.2), so the client rarely has to retry. */
  nextNonceOn(res: object): void {
    const adapter = this.adapterHost.httpAdapter;
    if (!this.nonces || !adapter || adapter.isHeadersSent(res)) return;
    adapter.setHeader(res, 'DPoP-Nonce', this.nonces.current(Date.now()));
  }

  /** The same for an HTTP context (the guard's). */
  nextNonce(context: ExecutionContext): void {
    if (this.nonces && contextTypeOf(context) === 'http') this.nextNonceOn(context.switchToHttp().getResponse());
  }
}

/**
 * The request's URL without its query, at each origin the app answers to (`csrf.appOrigin`, else
 * its host), in the form `withoutQuery` gives `htu`. The path is parsed once; the origins need no
 * parser (appOrigin is normal from the start, a host only loses its scheme's default port).
 */
function requestUrls(req: RequestLike, appOrigin: string | null): string[] {
  const target = req.originalUrl ?? req.url ?? '';
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  if (!path.startsWith('/')) return [];
  let pathname: string;
  try {
    // Concatenated, not resolved: a path such as `//other.example` must not change the origin.
    pathname = new URL(`http://host${path}`).pathname;
  } catch {
    return [];
  }
  return ownOrigins(req, { appOrigin }).map((origin) => `${withoutDefaultPort(origin)}${pathname}`);
}

function withoutDefaultPort(origin: string): string {
  if (origin.startsWith('https://') && origin.endsWith(':443')) return origin.slice(0, -4);
  if (origin.startsWith('http://') && origin.endsWith(':80')) return origin.slice(0, -3);
  return origin;
}
