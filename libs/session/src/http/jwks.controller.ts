import { Controller, Get, Header, Inject, VERSION_NEUTRAL } from '@nestjs/common';
import { RESOLVED_SESSION_OPTIONS } from '../session.constants';
import type { ResolvedSessionOptions } from '../resolve-options';
import { Public } from '../decorators/public.decorator';
import { SkipCsrf } from '../decorators/skip-csrf.decorator';
import { publicJwks } from '../tokens/signing-keys';
import { ApiRoute, ApiTagged } from '../openapi/api-docs';

/**
 * `GET /.well-known/jwks.json`: the public keys of the configured ES256, RS256 and EdDSA signing keys,
 * so other services can verify access tokens without any secret. HS256 keys are never listed.
 * Cached for 5 minutes: add a key at least that long before making it current (docs/signing-keys.md, key
 * rotation).
 */
@Controller({ path: '.well-known', version: VERSION_NEUTRAL })
@ApiTagged('sessions')
export class JwksController {
  private readonly body: { keys: object[] };

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) options: ResolvedSessionOptions) {
    this.body = publicJwks(options.keys);
  }

  @Public()
  @SkipCsrf()
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  @Header('Content-Type', 'application/jwk-set+json')
  @ApiRoute({
    summary: 'Public keys that verify access tokens (JWK Set)',
    success: { status: 200, description: 'The ES256, RS256 and EdDSA public keys, each with its kid; never a secret.' },
    errors: {},
  })
  jwks(): { keys: object[] } {
    return this.body;
  }
}
