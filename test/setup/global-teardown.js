module.exports = async function globalTeardown() {
  const child = globalThis.__EMBEDDED_POSTGRES__;
  if (!child) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
};
