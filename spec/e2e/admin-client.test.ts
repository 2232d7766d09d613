import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { AdminError } from '../../src/protocol/codec/admin.ts';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { ClientError } from '../../src/protocol/client/client-errors.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { gearadminStatus, gearadminWorkers } from '../support/gearadmin.ts';
import { startHostileServer } from '../support/hostile-server.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { eventually } from '../support/run.ts';

describe.each(JOB_SERVERS)('the admin client against $name', (kind) => {
  let server: JobServer;
  let worker: Worker;
  let admin: AdminClient;

  beforeAll(async () => {
    server = await kind.start();
    worker = new Worker({ servers: [server], slots: { build: 1, upload: 2 }, clientId: 'admin-e2e' });
    worker.register('image-build:admin', () => 'x', { jobClass: 'build' });
    worker.register('image-upload:admin-1', () => 'x', { jobClass: 'upload' });
    worker.start();
    const client = new Client({ servers: [server] });
    await client.submitBackground('queued-only', 'payload', { unique: 'admin-unique' });
    await client.close();
    admin = new AdminClient(server);
  });

  afterAll(async () => {
    admin.close();
    await worker.stop(500);
    await server.kill();
  });

  test('status agrees with gearadmin --status', async () => {
    const rows = await eventually(async () => {
      const status = await admin.status();
      return status.some((row) => row.function === 'image-upload:admin-1' && row.workers === 1) && status;
    });
    const theirs = await gearadminStatus(server);
    expect(rows.length).toBe(theirs.size);
    for (const row of rows) expect(theirs.get(row.function)).toEqual({ total: row.total, running: row.running, workers: row.workers });
    expect(rows).toContainEqual({ function: 'queued-only', total: 1, running: 0, workers: 0 });
  });

  test('workers agrees with gearadmin --workers', async () => {
    const ours = (await admin.workers()).filter((w) => w.clientId.startsWith('admin-e2e/'));
    const theirs = (await gearadminWorkers(server)).filter((w) => w.clientId.startsWith('admin-e2e/'));
    const simplify = (rows: readonly { clientId: string; functions: readonly string[] }[]) =>
      rows.map((w) => ({ clientId: w.clientId, functions: [...w.functions].sort() })).sort((a, b) => a.clientId.localeCompare(b.clientId));
    expect(simplify(ours)).toEqual(simplify(theirs));
    expect(simplify(ours)).toEqual([
      { clientId: 'admin-e2e/build', functions: ['image-build:admin'] },
      { clientId: 'admin-e2e/upload', functions: ['image-upload:admin-1'] },
    ]);
  });

  test('version, show jobs and show unique jobs are typed', async () => {
    expect(await admin.version()).toMatch(/\d+\.\d+/);
    expect((await admin.showUniqueJobs()).includes('admin-unique')).toBe(true);
    const jobs = await admin.showJobs();
    expect(jobs.length).toBeGreaterThanOrEqual(1);
    expect(jobs[0]!.handle).toMatch(/^H:/);
  });

  test('an ERR reply rejects with a typed AdminError', async () => {
    const err = await admin.cancelJob('H:nowhere:1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminError);
    expect((err as AdminError).code).toBe('UNKNOWN_JOB');
  });
});

describe('(fake silent server) the admin client against a server that takes the connection and says nothing', () => {
  test('CONNECT_TIMEOUT: a TLS handshake the server never answers fails the command, and the next command connects again', async () => {
    const silent = await startHostileServer('silent');
    const admin = new AdminClient({ host: silent.host, port: silent.port, tls: {} }, { connectTimeoutMs: 200 });
    try {
      const first = await admin.status().catch((e: unknown) => e);
      expect(first).toBeInstanceOf(ClientError);
      expect((first as ClientError).code).toBe('CONNECT_TIMEOUT');
      expect(silent.connections).toBe(1);
      const second = await admin.version().catch((e: unknown) => e);
      expect((second as ClientError).code).toBe('CONNECT_TIMEOUT');
      expect(silent.connections).toBe(2);
    } finally {
      admin.close();
      await silent.close();
    }
  });

  test('TIMEOUT: a plain connection that is accepted but never answered fails the command', async () => {
    const silent = await startHostileServer('silent');
    const admin = new AdminClient({ host: silent.host, port: silent.port }, { connectTimeoutMs: 200, replyTimeoutMs: 200 });
    try {
      const err = await admin.status().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect((err as ClientError).code).toBe('TIMEOUT');
    } finally {
      admin.close();
      await silent.close();
    }
  });
});
