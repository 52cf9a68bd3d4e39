/** Thrown at start when `SessionModuleOptions` are unsafe or malformed; the message says what to set. */
export class SessionConfigError extends Error {
  readonly code = 'SESSION_CONFIG_INVALID';
  constructor(message: string) {
    super(`nest-sessions: ${message}`);
    this.name = 'SessionConfigError';
  }
}
