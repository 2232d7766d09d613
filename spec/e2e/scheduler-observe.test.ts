/**
 * The scheduler's view of the fleet from real `workers` listings: two builders registered with
 * two gearmand servers (and with geard), as our Worker registers them ("<client-id>/<class>").
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { observeFunctions } from '../../src/scheduler/observe.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { eventually } from '../support/run.ts';

describe.each(JOB_SERVERS)('observeFunctions over $name', (kind) => {
  let servers: JobServer[];
  let workers: Worker[];

  beforeAll(async () => {
    servers = [await kind.start(), await kind.start()];
    const builder = (clientId: string, build: string[], upload: string[]): Worker => {
      const worker = new Worker({ servers, clientId, slots: { build: 1, upload: 2 } });
      for (const fn of build) worker.register(fn, () => 'ok', { jobClass: 'build' });
      for (const fn of upload) worker.register(fn, () => 'ok', { jobClass: 'upload' });
      worker.start();
      return worker;
    };
    workers = [
      builder('builder-1', ['image-build:debian'], ['image-upload:0001', 'image-delete:0001', 'provider-image-list:p1', 'provider-image-delete:p1']),
      builder('builder-2', ['image-build:debian', 'image-build:centos'], ['image-upload:0002', 'image-delete:0002', 'provider-image-list:p1', 'provider-image-delete:p1', 'provider-image-list:p2']),
    ];
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop(1_000)));
    await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
  });

  test('every build, diskimage and provider credential is attributed to its builder', async () => {
    const listings = async () => Promise.all(servers.map(async (server) => {
      const admin = new AdminClient(server);
      try {
        return await admin.workers();
      } finally {
        admin.close();
      }
    }));
    const seen = await eventually(async () => {
      const s = observeFunctions(await listings());
      return s.builds.size === 2 && s.cloudBuilders.get('p1')?.length === 2 && s.buildersByDiskimage.get('debian')?.length === 2 && s;
    }, 10_000, 'both builders registered everywhere');
    expect(seen.builds).toEqual(new Map([['0001', ['builder-1']], ['0002', ['builder-2']]]));
    expect(seen.buildersByDiskimage).toEqual(new Map([['debian', ['builder-1', 'builder-2']], ['centos', ['builder-2']]]));
    expect(seen.cloudBuilders).toEqual(new Map([['p1', ['builder-1', 'builder-2']]]));
  });
});
