import request from 'supertest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startAppProcess, type AppProcess } from '../support/processes';
import { PASSWORD, uniqueEmail } from '../support/browser';
import { within } from '../support/within';

/** Debian's `prometheus` (`.ci/run` installs it when missing); another binary through PROMETHEUS_BIN. */
const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

interface Prometheus {
  url: string;
  child: ChildProcess;
  dir: string;
}

/** Prometheus scraping the given `/metrics` targets every second, with its own data directory. */
async function startPrometheus(targets: Record<string, string>): Promise<Prometheus> {
  if (!existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} is missing: install Debian's prometheus (apt-get install prometheus) or set PROMETHEUS_BIN`);
  const dir = mkdtempSync(join(tmpdir(), 'ns-prometheus-'));
  const config = [
    'global:',
    '  scrape_interval: 1s',
    'scrape_configs:',
    ...Object.entries(targets).flatMap(([name, target]) => [`  - job_name: ${name}`, '    static_configs:', `      - targets: ['${target}']`]),
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), `${config}\n`);
  const port = await freePort();
  const child = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await within(30_000, async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok === true);
  return { url, child, dir };
}

/** One value of an instant query, or null when the query has no result yet. */
async function queryValue(prometheus: Prometheus, query: string): Promise<number | null> {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { status: string; data: { result: Array<{ value: [number, string] }> } };
  if (body.status !== 'success' || body.data.result.length === 0) return null;
  return Number(body.data.result[0].value[1]);
}

describe('Prometheus scraping two sample instances (METRICS_PORT)', () => {
  let a: AppProcess;
  let b: AppProcess;
  let prometheus: Prometheus;
  let metricsB: number;

  beforeAll(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    metricsB = portB;
    [a, b] = await Promise.all([startAppProcess({ REVOCATION_BUS: 'postgres', METRICS_PORT: String(portA) }), startAppProcess({ REVOCATION_BUS: 'postgres', METRICS_PORT: String(portB) })]);
    prometheus = await startPrometheus({ a: `127.0.0.1:${portA}`, b: `127.0.0.1:${portB}` });
  }, 90_000);
  afterAll(async () => {
    prometheus?.child.kill('SIGTERM');
    await Promise.all([a, b].filter(Boolean).map((p) => p.stop()));
    if (prometheus) rmSync(prometheus.dir, { recursive: true, force: true });
  });

  it('a logout on A shows as revocation lag on B, read back through the query API, under the one-second bound', async () => {
    const email = uniqueEmail('prometheus');
    expect((await request(a.url).post('/auth/register').send({ email, password: PASSWORD })).status).toBe(201);
    const login = await request(a.url).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect(login.status).toBe(200);
    const bearer = `Bearer ${login.body.accessToken as string}`;
    // B caches the session as live, so that only the broadcast can end it there.
    expect((await request(b.url).get('/whoami').set('Authorization', bearer)).status).toBe(200);
    expect((await request(a.url).post('/auth/logout').send({ refreshToken: login.body.refreshToken })).status).toBe(204);
    await within(3_000, async () => (await request(b.url).get('/whoami').set('Authorization', bearer)).status === 401);

    const onB = `job="b",instance="127.0.0.1:${metricsB}"`;
    await within(20_000, async () => ((await queryValue(prometheus, `nest_sessions_revocation_lag_count{${onB}}`)) ?? 0) >= 1);
    const count = (await queryValue(prometheus, `nest_sessions_revocation_lag_count{${onB}}`))!;
    const sum = (await queryValue(prometheus, `nest_sessions_revocation_lag_sum{${onB}}`))!;
    console.log(`revocation lag on B: ${count} message(s), mean ${((sum / count) * 1000).toFixed(1)} ms`);
    expect(sum / count).toBeLessThan(1);
    // A second revocation a scrape later, so the lag histogram grows between two samples and its
    // rate() (what the dashboard plots) has something to show.
    await new Promise((r) => setTimeout(r, 1_500));
    const again = await request(a.url).post('/auth/login').set('X-Session-Transport', 'bearer').send({ email, password: PASSWORD });
    expect((await request(b.url).get('/whoami').set('Authorization', `Bearer ${again.body.accessToken as string}`)).status).toBe(200);
    expect((await request(a.url).post('/auth/logout').send({ refreshToken: again.body.refreshToken })).status).toBe(204);
    await within(20_000, async () => ((await queryValue(prometheus, `nest_sessions_revocation_lag_count{${onB}}`)) ?? 0) >= 2);

    // Both instances are scraped and report their own view: A started the session (its next
    // scrape may come up to a second after B's), B's listener is up.
    await within(5_000, async () => ((await queryValue(prometheus, `nest_sessions_sessions_started_total{job="a"}`)) ?? 0) >= 1);
    expect(await queryValue(prometheus, `nest_sessions_listener_up{${onB}}`)).toBe(1);
    expect(await queryValue(prometheus, 'count(up{job=~"a|b"} == 1)')).toBe(2);

    // Every query of docs/grafana-dashboard.json is valid PromQL over these series, and the ones
    // this scenario feeds (revocation lag, the guard's decisions, the listeners) have an answer.
    const dashboard = JSON.parse(readFileSync(join(__dirname, '..', '..', 'docs', 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    const answered = new Map<string, boolean>();
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr.replaceAll('$__rate_interval', '1m'))}`);
        const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
        expect({ panel: panel.title, expr, status: body.status, error: body.error }).toEqual({ panel: panel.title, expr, status: 'success', error: undefined });
        answered.set(panel.title, (answered.get(panel.title) ?? false) || (body.data?.result.length ?? 0) > 0);
      }
    }
    for (const title of ['Revocation lag p99 (5 m)', 'Revocation lag', 'Guard cache hit ratio', 'Listeners down', 'Listener and heartbeat']) expect({ title, answered: answered.get(title) }).toEqual({ title, answered: true });
  });
});
