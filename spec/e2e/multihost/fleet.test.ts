import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../../../src/protocol/client/admin-client.ts';
import { type Lan, createLan, sweepLeftoverNamespaces } from '../../support/netns.ts';
import { type RunResult, eventually } from '../../support/run.ts';
import { type BuilderHost, GEARMAN_PORT, type HostProcess, MAIN, startBuilderOn, startGearmandOn } from './fleet-hosts.ts';

/**
 * Five hosts on a private LAN of network namespaces: two real gearmands, two builders (each on
 * both servers) and a client. Jobs go where the image is; a vanished host or server does not
 * stop the fleet.
 */

const SERVERS = ['gearmand-1', 'gearmand-2'] as const;
type ServerName = (typeof SERVERS)[number];

interface Registration {
  readonly server: ServerName;
  readonly host: string;
  readonly clientId: string;
  readonly fn: string;
}

describe('a fleet of two builders on two gearmands, across network namespaces', () => {
  let lan: Lan;
  let dir: string;
  const servers: HostProcess[] = [];
  let builderA: BuilderHost;
  let builderB: BuilderHost;
  const admins = new Map<ServerName, AdminClient>();
  const run = Date.now().toString(36);

  beforeAll(async () => {
    const swept = await sweepLeftoverNamespaces();
    if (swept.length) console.log(`swept leftover namespaces: ${swept.join(', ')}`);
    dir = mkdtempSync(join(tmpdir(), 'nodepool-builder-fleet-'));
    lan = await createLan(['gearmand-1', 'gearmand-2', 'builder-a', 'builder-b', 'client']);
    for (const name of SERVERS) {
      servers.push(await startGearmandOn(lan, name, join(dir, name)));
      admins.set(name, new AdminClient({ host: lan.host(name).ip, port: GEARMAN_PORT }));
    }
    builderA = startBuilderOn(lan, 'builder-a', join(dir, 'builder-a'), {
      clientId: 'builder-a',
      diskimages: ['only-a', 'shared'],
      servers: [...SERVERS],
    });
    builderB = startBuilderOn(lan, 'builder-b', join(dir, 'builder-b'), {
      clientId: 'builder-b',
      diskimages: ['only-b', 'shared'],
      servers: [...SERVERS],
    });
    await eventually(
      async () => {
        for (const builder of [builderA, builderB]) {
          if (!builder.running()) throw new Error(`${builder.host} exited:\n${builder.log()}`);
        }
        const seen = await registrations();
        const has = (server: ServerName, host: string, fn: string) =>
          seen.some((r) => r.server === server && r.host === host && r.fn === fn);
        return SERVERS.every(
          (server) =>
            has(server, 'builder-a', 'image-build:only-a') &&
            has(server, 'builder-a', 'image-build:shared') &&
            has(server, 'builder-b', 'image-build:only-b') &&
            has(server, 'builder-b', 'image-build:shared'),
        );
      },
      60_000,
      'both builders to register on both servers',
    );
  }, 120_000);

  afterAll(async () => {
    try {
      for (const admin of admins.values()) admin.close();
      await Promise.all([builderA, builderB].filter(Boolean).map((b) => b.stop().catch(() => undefined)));
      await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    } finally {
      await lan?.destroy();
    }
  }, 60_000);

  /** Every (server, worker host, function) the given servers report, hosts told apart by address. */
  async function registrations(from: readonly ServerName[] = SERVERS): Promise<Registration[]> {
    const byIp = new Map([builderA, builderB].map((b) => [b.ip, b.host]));
    const rows: Registration[] = [];
    for (const server of from) {
      for (const worker of await admins.get(server)!.workers()) {
        const host = byIp.get(worker.address) ?? worker.address;
        for (const fn of worker.functions) rows.push({ server, host, clientId: worker.clientId, fn });
      }
    }
    return rows;
  }

  /** "server host client-id" for each worker that has `fn` registered. */
  async function holdersOf(fn: string, from: readonly ServerName[] = SERVERS): Promise<string[]> {
    return (await registrations(from))
      .filter((r) => r.fn === fn)
      .map((r) => `${r.server} ${r.host} ${r.clientId}`)
      .sort();
  }

  async function printRouting(title: string, from: readonly ServerName[] = SERVERS): Promise<void> {
    const table = new Map<string, Set<string>>();
    for (const r of await registrations(from)) {
      const hosts = table.get(r.fn) ?? new Set<string>();
      hosts.add(`${r.host}@${r.server}`);
      table.set(r.fn, hosts);
    }
    const lines = [...table.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([fn, hosts]) => `  ${fn.padEnd(44)} → ${[...hosts].sort().join(', ')}`);
    console.log(`routing table (${title}):\n${lines.join('\n')}`);
  }

  /** The CLI, run inside the client's namespace against both servers (or the ones given). */
  function cli(args: readonly string[], to: readonly ServerName[] = SERVERS): Promise<RunResult> {
    const serverArgs = to.flatMap((s) => ['--server', `${lan.host(s).ip}:${GEARMAN_PORT}`]);
    return lan.exec('client', process.execPath, [MAIN, ...args, ...serverArgs], '', 180_000);
  }

  async function build(name: string, id: string): Promise<RunResult> {
    const result = await cli(['image-build', name, '--id', id, '--json']);
    expect({ id, code: result.code, stderr: result.stderr }).toEqual({ id, code: 0, stderr: '' });
    return result;
  }

  /** The builder's log lines about its gearman connections going and coming back. */
  const connectionEvents = (builder: BuilderHost) =>
    builder
      .log()
      .split('\n')
      .filter((line) => /: (lost|cannot connect|connection restored)/.test(line))
      .map((line) => `  ${builder.host}: ${line}`)
      .join('\n');

  const upload = (id: string) => cli(['image-upload', id, 'no-such-provider']);
  const imageFunctions = (id: string) => [`image-upload:${id}`, `image-delete:${id}`];
  const bothServers = (host: string, clientId: string) => SERVERS.map((s) => `${s} ${host} ${clientId}/upload`);

  test('builds go to the builder that can build them; uploads and deletes to the one holding the image', async () => {
    const onlyA = `a1-${run}`;
    const onlyB = `b1-${run}`;
    await Promise.all([build('only-a', onlyA), build('only-b', onlyB)]);
    expect(builderA.images()).toEqual([onlyA]);
    expect(builderB.images()).toEqual([onlyB]);

    // Both builders are idle now, and each image's functions are registered by its holder only.
    for (const [id, holder] of [
      [onlyA, builderA],
      [onlyB, builderB],
    ] as const) {
      for (const fn of imageFunctions(id)) {
        await eventually(async () => (await holdersOf(fn)).length === 2, 15_000, `${fn} on both servers`);
        expect(await holdersOf(fn)).toEqual(bothServers(holder.host, holder.clientId));
      }
    }
    await printRouting('both builders idle');

    // Uploads of A's image, submitted from the client host, fail on A: the reason names A's config.
    const uploads = await Promise.all([upload(onlyA), upload(onlyA)]);
    for (const result of uploads) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`no provider "no-such-provider" in ${builderA.configFile}`);
    }
    expect(builderB.log()).not.toContain(onlyA);

    const deleted = await cli(['image-delete', onlyB]);
    expect(deleted.code).toBe(0);
    expect(builderB.images()).toEqual([]);
    expect(builderA.images()).toEqual([onlyA]);
    for (const fn of imageFunctions(onlyB)) {
      await eventually(async () => (await holdersOf(fn)).length === 0, 15_000, `${fn} to be unregistered`);
    }
    expect(await holdersOf(`image-upload:${onlyA}`)).toEqual(bothServers('builder-a', 'builder-a'));
  }, 180_000);

  test('a diskimage both builders have is built by both when builds overlap', async () => {
    const ids = [1, 2].map((n) => `s${n}-${run}`);
    // One build slot per builder: two at once cannot both land on the same host.
    await Promise.all(ids.map((id) => build('shared', id)));
    const onA = ids.filter((id) => builderA.images().includes(id));
    const onB = ids.filter((id) => builderB.images().includes(id));
    console.log(`shared builds: builder-a built ${onA.join(', ')}; builder-b built ${onB.join(', ')}`);
    expect([...onA, ...onB].sort()).toEqual([...ids].sort());
    expect(onA.length).toBe(1);
    expect(onB.length).toBe(1);
    for (const id of onA) await eventually(async () => (await holdersOf(`image-delete:${id}`)).length === 2, 15_000, id);
    for (const id of onB) await eventually(async () => (await holdersOf(`image-delete:${id}`)).length === 2, 15_000, id);
    for (const id of onA) expect(await holdersOf(`image-delete:${id}`)).toEqual(bothServers('builder-a', 'builder-a'));
    for (const id of onB) expect(await holdersOf(`image-delete:${id}`)).toEqual(bothServers('builder-b', 'builder-b'));
    await printRouting('after the shared builds');
  }, 180_000);

  test('a builder whose link goes down drops off both servers and comes back without a restart', async () => {
    const held = builderA.images();
    expect(held.length).toBeGreaterThan(0);
    const pid = builderA.pid;
    await lan.unplug('builder-a');
    await eventually(
      async () => (await registrations()).every((r) => r.host !== 'builder-a'),
      60_000,
      "builder-a's registrations to vanish from both servers",
    );
    for (const id of held) for (const fn of imageFunctions(id)) expect(await holdersOf(fn)).toEqual([]);
    expect(await holdersOf('image-build:shared')).toEqual(SERVERS.map((s) => `${s} builder-b builder-b/build`));
    await printRouting('builder-a unplugged');

    await lan.plug('builder-a');
    await eventually(
      async () => {
        for (const id of held) for (const fn of imageFunctions(id)) if ((await holdersOf(fn)).length !== 2) return false;
        return (await holdersOf('image-build:only-a')).length === 2;
      },
      120_000,
      "builder-a's functions to come back on both servers",
    );
    for (const id of held) expect(await holdersOf(`image-upload:${id}`)).toEqual(bothServers('builder-a', 'builder-a'));
    expect(builderA.running()).toBe(true);
    expect(builderA.pid).toBe(pid);
    await printRouting('builder-a plugged back in');
    console.log(`builder-a's own view:\n${connectionEvents(builderA)}`);
  }, 240_000);

  test('with one server cut off, builds, uploads and deletes go through the other', async () => {
    await lan.unplug('gearmand-1');
    const id = `b2-${run}`;
    const imagesOfA = builderA.images();
    await build('only-b', id);
    expect(builderB.images()).toContain(id);
    await eventually(async () => (await holdersOf(`image-upload:${id}`, ['gearmand-2'])).length === 1, 15_000, `image-upload:${id}`);
    expect(await holdersOf(`image-upload:${id}`, ['gearmand-2'])).toEqual(['gearmand-2 builder-b builder-b/upload']);
    await printRouting('gearmand-1 unplugged (as gearmand-2 sees it)', ['gearmand-2']);

    const failed = await upload(id);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`no provider "no-such-provider" in ${builderB.configFile}`);

    const deleted = await cli(['image-delete', id]);
    expect({ code: deleted.code, stderr: deleted.stderr }).toEqual({ code: 0, stderr: '' });
    expect(builderB.images()).not.toContain(id);
    expect(builderA.images()).toEqual(imagesOfA);
    console.log(`builder-b's own view:\n${connectionEvents(builderB)}`);
  }, 240_000);
});
