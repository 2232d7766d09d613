import { afterAll, beforeAll } from 'bun:test';
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import { Client } from '../../src/protocol/client/client.ts';
import { type BuilderProcess, startBuilder } from './builder-process.ts';
import { type Gearmand, startGearmand } from './gearmand.ts';

export interface BuilderBed {
  readonly gearmand: Gearmand;
  readonly builder: BuilderProcess;
  readonly client: Client;
  readonly admin: AdminClient;
  /** Functions some worker on gearmand can do right now. */
  registered(): Promise<string[]>;
}

/**
 * For a describe block: a real gearmand, our builder running `configBody` against it, a client
 * and an admin client; all started before the tests and stopped after them.
 */
export function useBuilderBed(configBody: () => string): BuilderBed {
  let gearmand: Gearmand | undefined;
  let builder: BuilderProcess | undefined;
  let client: Client | undefined;
  let admin: AdminClient | undefined;
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the builder bed is not started (use it inside tests)');
    return value;
  };
  beforeAll(async () => {
    gearmand = await startGearmand();
    builder = await startBuilder(gearmand, configBody());
    client = new Client({ servers: [gearmand] });
    admin = new AdminClient(gearmand);
  });
  afterAll(async () => {
    admin?.close();
    await client?.close();
    await builder?.[Symbol.asyncDispose]();
    await gearmand?.kill();
  });
  return {
    get gearmand() {
      return ready(gearmand);
    },
    get builder() {
      return ready(builder);
    },
    get client() {
      return ready(client);
    },
    get admin() {
      return ready(admin);
    },
    async registered() {
      return (await ready(admin).status()).filter((row) => row.workers > 0).map((row) => row.function);
    },
  };
}
