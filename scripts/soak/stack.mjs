// The soak's servers: its own Redis (so it can restart it), a TCP relay in front of PostgreSQL (so
// it can stall it), the sample app instances, HAProxy in front of them and Prometheus scraping them.
// Each is a child process on loopback ports of its own; `stopAll` ends every one.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port.mjs';

const children = new Set();

/** A binary from Debian's packages, or a clear error naming the package. */
export function requireBinary(path, pkg) {
  if (!existsSync(path)) throw new Error(`${path} is missing: apt-get install ${pkg} (.ci/run installs it)`);
  return path;
}

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function stopAll() {
  for (const child of children) child.kill('SIGKILL');
}

export async function waitFor(what, limitMs, check) {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const tcpOpen = (port) =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** redis-server on a port of its own, keeping nothing on disk; `restart` kills it and starts it again. */
export async function startRedis() {
  const bin = requireBinary('/usr/bin/redis-server', 'redis-server');
  const port = await freePort();
  const redis = { port, url: `redis://127.0.0.1:${port}`, child: null };
  redis.start = async () => {
    redis.child = track(spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }));
    await waitFor('redis', 10_000, () => tcpOpen(port));
  };
  redis.restart = async (downMs) => {
    redis.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, downMs));
    await redis.start();
  };
  await redis.start();
  return redis;
}

/**
 * A TCP relay to PostgreSQL. `stall(ms)` stops moving bytes both ways on every connection, and
 * holds new connections, for `ms`: to the app, the database hangs, as on a failover or a lock.
 */
export async function startRelay(targetPort) {
  const port = await freePort();
  let stalledUntil = 0;
  /** Forwards chunks to `to`, holding them (in order) while the relay is stalled. */
  const forward = (to) => {
    const held = [];
    let timer = null;
    const flush = () => {
      timer = null;
      if (Date.now() < stalledUntil) return hold();
      while (held.length) to.write(held.shift());
    };
    const hold = () => (timer ??= setTimeout(flush, Math.max(1, stalledUntil - Date.now())));
    return (chunk) => {
      if (Date.now() < stalledUntil || held.length) {
        held.push(chunk);
        hold();
      } else to.write(chunk);
    };
  };
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const close = () => (client.destroy(), upstream.destroy());
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    stall: (ms) => void (stalledUntil = Date.now() + ms),
    close: () => server.close(),
  };
}

/** One sample app process; `kill` is SIGKILL, `start` starts it again on the same ports. */
export async function startInstance(name, main, env) {
  const port = await freePort();
  const metricsPort = await freePort();
  const instance = { name, port, metricsPort, url: `http://127.0.0.1:${port}`, child: null, output: [] };
  instance.start = async () => {
    const child = track(spawn(process.execPath, [main], { env: { ...process.env, ...env, PORT: String(port), METRICS_PORT: String(metricsPort) }, stdio: ['ignore', 'pipe', 'pipe'] }));
    instance.child = child;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${instance.output.join('')}`)), 60_000);
      child.stdout.on('data', (d) => {
        instance.output.push(String(d));
        if (String(d).includes('listening on')) (clearTimeout(timer), resolve());
      });
      child.stderr.on('data', (d) => instance.output.push(String(d)));
      child.once('exit', (code, signal) => (clearTimeout(timer), reject(new Error(`${name} exited (${code ?? signal}):\n${instance.output.join('').slice(-2000)}`))));
    });
    instance.output.length = 0;
  };
  instance.kill = () => instance.child?.kill('SIGKILL');
  await instance.start();
  return instance;
}

/** HAProxy (Debian's package) balancing HTTP and WebSockets over the instances, with TCP health checks. */
export async function startHaproxy(instances) {
  const bin = requireBinary('/usr/sbin/haproxy', 'haproxy');
  const port = await freePort();
  const statsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ns-soak-haproxy-'));
  const config = [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout tunnel 1h',
    '  option redispatch',
    '  retries 2',
    'frontend app',
    `  bind 127.0.0.1:${port}`,
    '  default_backend instances',
    'backend instances',
    '  balance roundrobin',
    ...instances.map((i) => `  server ${i.name} 127.0.0.1:${i.port} check inter 500ms fall 2 rise 2`),
    'listen stats',
    `  bind 127.0.0.1:${statsPort}`,
    '  stats enable',
    '  stats uri /stats',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'haproxy.cfg'), config);
  execFileSync(bin, ['-c', '-q', '-f', join(dir, 'haproxy.cfg')]);
  track(spawn(bin, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' }));
  await waitFor('haproxy', 10_000, () => tcpOpen(port));
  return {
    url: `http://127.0.0.1:${port}`,
    /** Whether HAProxy sends traffic to the instance (its health checks pass: status UP). */
    async serves(name) {
      const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text();
      const header = csv.split('\n')[0].replace(/^# /, '').split(',');
      const status = header.indexOf('status');
      return csv.split('\n').some((line) => {
        const cells = line.split(',');
        return cells[0] === 'instances' && cells[1] === name && cells[status] === 'UP';
      });
    },
  };
}

/** Prometheus (Debian's package) scraping every instance's METRICS_PORT each second. */
export async function startPrometheus(instances) {
  const bin = requireBinary(process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus', 'prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'ns-soak-prometheus-'));
  const config = [
    'global:',
    '  scrape_interval: 1s',
    'scrape_configs:',
    '  - job_name: sample',
    '    static_configs:',
    ...instances.map((i) => `      - targets: ['127.0.0.1:${i.metricsPort}']\n        labels: { name: '${i.name}' }`),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  track(spawn(bin, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' }));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('prometheus', 30_000, async () => (await fetch(`${url}/-/ready`)).ok);
  return {
    url,
    /** A range query's first series as [{ t (unix s), value }]. */
    async range(query, startS, endS, stepS) {
      const res = await fetch(`${url}/api/v1/query_range?query=${encodeURIComponent(query)}&start=${startS}&end=${endS}&step=${stepS}`);
      const body = await res.json();
      const series = body?.data?.result?.[0]?.values ?? [];
      return series.map(([t, v]) => ({ t: Number(t), value: Number(v) }));
    },
    async instant(query, atS) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}&time=${atS}`);
      const body = await res.json();
      const value = body?.data?.result?.[0]?.value?.[1];
      return value === undefined ? null : Number(value);
    },
  };
}
