/**
 * Our Client (src/protocol/client/client.ts): N connections = one Client with N entries in
 * `servers` (it round-robins submits over them). Each job is a plain `client.submit()`.
 */
import { Client } from '../../../src/protocol/client/client.ts';
import { clientMain } from '../harness/client-main.ts';

await clientMain(async (args) => {
  const servers = Array.from({ length: args.conns }, () => ({ host: args.host, port: args.port }));
  const client = new Client({ servers });
  return {
    submit(payload, done, fail) {
      client.submit(args.fn, payload).then((result) => done(result.data), fail);
    },
    close: () => client.close(),
  };
});
