import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';

/**
 * The throttler names its header after the throttler (`Retry-After-login`); clients and proxies
 * understand only the standard `Retry-After`, so this guard sets it too before answering 429.
 */
@Injectable()
export class AuthThrottlerGuard extends ThrottlerGuard {
  // A property, so that ThrottlerGuard's constructor and its injection tokens stay as they are.
  @Inject(HttpAdapterHost) private readonly adapterHost!: HttpAdapterHost;

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const retryAfter = String(Math.max(1, Math.ceil(detail.timeToBlockExpire)));
    this.adapterHost.httpAdapter.setHeader(context.switchToHttp().getResponse(), 'Retry-After', retryAfter);
    return super.throwThrottlingException(context, detail);
  }
}
