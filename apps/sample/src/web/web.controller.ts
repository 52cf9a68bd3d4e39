import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from 'nest-sessions';
import { sampleConfig, type SampleConfig } from '../config/sample-config';
import { pageHtml } from './page';
import { PAGE_JS } from './page-script';
import { FAVICON_SVG, PAGE_CSS } from './page-style';
import { readSessionClient } from './client-source';

// The page also loads socket.io's browser client from /socket.io/socket.io.esm.min.js, which
// socket.io itself serves (serveClient, on by default) from its own package, ahead of Express or
// Fastify and outside any global prefix; both that script and the connection it opens to /events
// (long-polling, then ws: to this host) are same origin, so 'self' covers them. See PAGE_JS.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** `GET /` (under the global prefix): the sample web page (register, log in, notes, my sessions, log out). */
@Controller()
@Public()
@ApiExcludeController()
export class WebController {
  private readonly html: string;
  private readonly client = readSessionClient();

  constructor(@Inject(sampleConfig.KEY) config: SampleConfig) {
    this.html = pageHtml(config.globalPrefix ? `/${config.globalPrefix}` : '');
  }

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CSP)
  @Header('X-Frame-Options', 'DENY')
  @Header('Referrer-Policy', 'same-origin')
  page(): string {
    return this.html;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return PAGE_JS;
  }

  @Get('app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  stylesheet(): string {
    return PAGE_CSS;
  }

  @Get('favicon.svg')
  @Header('Content-Type', 'image/svg+xml')
  @Header('Cache-Control', 'public, max-age=86400')
  favicon(): string {
    return FAVICON_SVG;
  }

  @Get('session-client.mjs')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  sessionClient(): string {
    return this.client;
  }
}
