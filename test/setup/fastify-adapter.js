// The `fastify` Jest project: startApp() boots the sample on Fastify unless a test names an adapter.
process.env.NS_TEST_ADAPTER = 'fastify';
