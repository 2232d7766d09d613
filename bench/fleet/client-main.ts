/**
 * The fleet's client process: one Client over `conns` connections, each job to the next
 * function of the fleet (a stride through all of them, so consecutive jobs hit different
 * workers). The warm-up/ready/go/result protocol is bench/jobs' (harness/client-main.ts).
 */
import { Client } from '../../src/protocol/client/client.ts';
import { clientMain } from '../jobs/harness/client-main.ts';
import { readArgs } from '../jobs/harness/args.ts';
import { functionName } from './fleet.ts';

/** Prime, so it does not divide any fleet's function count. */
const STRIDE = 7919;

await clientMain(async (args) => {
  const { functions } = readArgs<{ functions: number }>();
  const names = Array.from({ length: functions }, (_, i) => functionName(i));
  const servers = Array.from({ length: args.conns }, () => ({ host: args.host, port: args.port }));
  const client = new Client({ servers });
  let next = 0;
  return {
    submit(payload, done, fail) {
      next = (next + STRIDE) % functions;
      client.submit(names[next]!, payload).then((result) => done(result.data), fail);
    },
    close: () => client.close(),
  };
});
