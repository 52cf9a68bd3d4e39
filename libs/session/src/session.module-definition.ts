import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { SessionModuleExtras, SessionModuleOptions } from './session.options';
import { SESSION_DEFAULTS } from './session.defaults';

/** For `forRootAsync({ useClass })` / `useExisting`: a provider that makes the options. */
export interface SessionOptionsFactory {
  /** The options for `SessionModule`, made when the module starts. */
  createSessionOptions(): SessionModuleOptions | Promise<SessionModuleOptions>;
}

export const {
  ConfigurableModuleClass: SessionConfigurableModule,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE: SESSION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SESSION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSessionOptions')
  .setExtras<SessionModuleExtras>({ routePrefix: SESSION_DEFAULTS.routePrefix, controller: true, dataSource: undefined }, (definition) => definition)
  .build();

/** The injection token of the options given to `forRoot` or made by `forRootAsync`. */
export const SESSION_MODULE_OPTIONS = MODULE_OPTIONS_TOKEN;
