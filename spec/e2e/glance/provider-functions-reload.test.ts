import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../../../src/protocol/client/client.ts';
import { type BuilderProcess, startBuilder } from '../../support/builder-process.ts';
import { gearadminStatus, gearadminWorkers } from '../../support/gearadmin.ts';
import { type Gearmand, startGearmand } from '../../support/gearmand.ts';
import { type OpenStackPeers, startOpenStack } from '../../support/openstack/openstack-peers.ts';
import { eventually } from '../../support/run.ts';

/**
 * A builder process registers provider-image-list:<p> / provider-image-delete:<p> for the
 * providers whose clouds resolve, and a SIGHUP changes only what changed (issue 14 §2).
 */
describe('provider-image-list/-delete registration of a builder process on gearmand, across SIGHUPs', () => {
  let gearmand: Gearmand;
  let peers: OpenStackPeers;
  let builder: BuilderProcess;
  let client: Client;
  let cloudsFile: string;

  const writeClouds = (names: readonly string[]) =>
    writeFileSync(cloudsFile, `clouds:\n${names.map((name) => `  ${name}:\n    auth_type: none\n    endpoint: ${peers.glance.url}\n`).join('')}`, { mode: 0o600 });
  const config = (providers: Record<string, string>) =>
    [`clouds-file = "${cloudsFile}"`, ...Object.entries(providers).map(([name, cloud]) => `[[providers]]\nname = "${name}"\ncloud = "${cloud}"\n`)].join('\n');
  const workersOf = async (fn: string) => (await gearadminStatus(gearmand)).get(fn)?.workers ?? 0;
  // The cloud connection also carries builder-image-list:<client-id> (the builder's own listing), whatever the providers.
  const cloudConnection = async () => (await gearadminWorkers(gearmand)).filter((w) => w.clientId === 'e2e-builder/cloud').map((w) => w.functions.sort());
  const own = 'builder-image-list:e2e-builder';
  const reloads = () => builder.log().split('\n').filter((line) => line.includes('configuration reloaded')).length;
  const reload = async (body: string) => {
    const before = reloads();
    builder.writeConfig(body);
    builder.signal('SIGHUP');
    await eventually(() => reloads() === before + 1, 10_000, 'the reload');
  };

  beforeAll(async () => {
    [gearmand, peers] = await Promise.all([startGearmand(), startOpenStack({ keystone: false })]);
    cloudsFile = join(peers.dir, 'builder-clouds.yaml');
    writeClouds(['one']);
    // Provider b's cloud is not in the clouds file yet: this host has no credentials for it.
    builder = await startBuilder(gearmand, config({ a: 'one', b: 'two' }), ['provider-image-list:a', 'provider-image-delete:a']);
    client = new Client({ servers: [gearmand] });
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await builder?.[Symbol.asyncDispose]();
    await Promise.all([peers?.stop(), gearmand?.kill()]);
  });

  test('at start: only the provider whose cloud resolves, on a connection of its own, and it answers', async () => {
    expect(await cloudConnection()).toEqual([[own, 'provider-image-delete:a', 'provider-image-list:a']]);
    expect(await workersOf('provider-image-list:b')).toBe(0);
    expect(builder.log()).toContain('no provider-image-list/-delete: provider "b"');
    const result = await client.submit('provider-image-list:a', '{}', { timeoutMs: 60_000 });
    expect(JSON.parse(Buffer.from(result.data).toString())).toEqual({ images: [] });
  });

  test('a SIGHUP reads the clouds file again: a provider whose cloud now resolves is registered, with no second CAN_DO for the others', async () => {
    await reload(config({ a: 'one', b: 'two' }));
    await reload(config({ a: 'one', b: 'two' }));
    writeClouds(['one', 'two']);
    await reload(config({ a: 'one', b: 'two' }));
    await eventually(async () => (await workersOf('provider-image-delete:b')) === 1, 10_000, 'provider b to be registered');
    const status = await gearadminStatus(gearmand);
    for (const fn of ['provider-image-list:a', 'provider-image-delete:a', 'provider-image-list:b', 'provider-image-delete:b']) {
      expect([fn, status.get(fn)?.workers]).toEqual([fn, 1]);
    }
    expect(await cloudConnection()).toEqual([[own, 'provider-image-delete:a', 'provider-image-delete:b', 'provider-image-list:a', 'provider-image-list:b']]);
  });

  test('a SIGHUP that removes a provider sends CANT_DO for its two functions only', async () => {
    await reload(config({ b: 'two' }));
    await eventually(async () => (await workersOf('provider-image-list:a')) === 0, 10_000, 'provider a to go');
    expect(await workersOf('provider-image-delete:a')).toBe(0);
    expect(await workersOf('provider-image-list:b')).toBe(1);
    expect(await workersOf('provider-image-delete:b')).toBe(1);
    expect(await cloudConnection()).toEqual([[own, 'provider-image-delete:b', 'provider-image-list:b']]);
  });

  test('a SIGHUP whose clouds file lost the cloud unregisters its provider', async () => {
    writeClouds(['one']);
    await reload(config({ b: 'two', c: 'one' }));
    await eventually(async () => (await workersOf('provider-image-list:c')) === 1, 10_000, 'provider c to come');
    expect(await workersOf('provider-image-list:b')).toBe(0);
    expect(await cloudConnection()).toEqual([[own, 'provider-image-delete:c', 'provider-image-list:c']]);
  });
});
