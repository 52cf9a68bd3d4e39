import { Logger } from '@nestjs/common';

// Nest's static logger, until a test app sets its own (every test app captures its logs): what
// code outside an app logs (TypeORM's data-source registry when apps come and go, a unit spec's
// warnings) is dropped, so a green `npm test` prints the Jest summary and nothing else. Tests
// that check a log line spy on Logger.prototype, which sees the call either way.
if (process.env.NS_TEST_VERBOSE !== '1') Logger.overrideLogger(false);
