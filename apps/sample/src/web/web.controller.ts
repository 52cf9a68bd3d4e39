import { Controller, Get, Header } from '@nestjs/common';
import { Public } from 'nest-sessions';
import { PAGE_HTML, PAGE_JS } from './page';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** `GET /`: the sample web page (register, log in, notes, my sessions, log out). */
@Controller()
@Public()
export class WebController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CSP)
  @Header('X-Frame-Options', 'DENY')
  @Header('Referrer-Policy', 'same-origin')
  page(): string {
    return PAGE_HTML;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return PAGE_JS;
  }
}
