import type { DataSource } from 'typeorm';
import { runStatement } from './run-statement';

/** Prepared statements on the hot paths, and the fallback for a pooler that does not keep them. */
describe('runStatement', () => {
  const logger = { log: jest.fn(), error: jest.fn(), warn: jest.fn() };
  const sourceWith = (query: (q: unknown, params?: unknown[]) => Promise<unknown>) => {
    const calls: unknown[] = [];
    const client = {
      query: (q: unknown, params?: unknown[]) => {
        calls.push(q);
        return query(q, params);
      },
    };
    const dataSource = { driver: { obtainMasterConnection: async () => [client, () => undefined] } } as unknown as DataSource;
    return { dataSource, calls };
  };

  it('sends a named statement when given a name, a plain one otherwise', async () => {
    const { dataSource, calls } = sourceWith(async () => ({ rows: [{ ok: 1 }] }));
    expect(await runStatement(dataSource, logger, 'SELECT $1', [1], 'ns_test')).toEqual([{ ok: 1 }]);
    await runStatement(dataSource, logger, 'SELECT 2', []);
    expect(calls).toEqual([{ name: 'ns_test', text: 'SELECT $1', values: [1] }, 'SELECT 2']);
  });

  it.each(['26000', '42P05'])('a pooler answering %s gets the statement again unnamed, and every later one too', async (code) => {
    const { dataSource, calls } = sourceWith(async (q) => {
      if (typeof q === 'object') throw Object.assign(new Error('prepared statement'), { code });
      return { rows: [{ ok: 1 }] };
    });
    expect(await runStatement(dataSource, logger, 'SELECT $1', [1], 'ns_test')).toEqual([{ ok: 1 }]);
    expect(await runStatement(dataSource, logger, 'SELECT $1', [2], 'ns_test')).toEqual([{ ok: 1 }]);
    expect(calls).toEqual([{ name: 'ns_test', text: 'SELECT $1', values: [1] }, 'SELECT $1', 'SELECT $1']);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('prepared statements'));
  });

  it('any other failure is a 503 and is not retried', async () => {
    const { dataSource, calls } = sourceWith(async () => {
      throw Object.assign(new Error('boom'), { code: '57014' });
    });
    await expect(runStatement(dataSource, logger, 'SELECT 1', [], 'ns_test')).rejects.toMatchObject({ name: 'SessionStoreUnavailableError', reason: '57014' });
    expect(calls).toHaveLength(1);
  });
});
