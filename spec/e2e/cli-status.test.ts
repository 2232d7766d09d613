import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type Socket, connect } from 'node:net';
import { encodePacketBuffer } from '../../src/protocol/codec/encoder.ts';
import { Type } from '../../src/protocol/codec/packets.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';
import { type RunResult, eventually, run } from '../support/run.ts';

const cli = (...args: string[]): Promise<RunResult> => run('env', ['NO_COLOR=1', process.execPath, 'src/cli/main.ts', ...args], '', 60_000);

/** A raw connection that sends these request packets and then stays open, as a hostile peer would. */
function rawPeer(server: JobServer, packets: readonly [number, readonly string[]][]): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port }, () => {
      for (const [type, args] of packets) socket.write(encodePacketBuffer('REQ', type, args));
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

interface StatusJson {
  readonly server: string;
  readonly status?: readonly { function: string; workers: number }[];
  readonly workers?: readonly { clientId: string; functions: readonly string[] }[];
  readonly error?: string;
}

describe.each(JOB_SERVERS)('status against $name, with hostile names', (kind) => {
  let server: JobServer;
  let address: string;
  const peers: Socket[] = [];

  beforeAll(async () => {
    server = await kind.start();
    address = `${server.host}:${server.port}`;
    peers.push(
      await rawPeer(server, [[Type.SUBMIT_JOB_BG, ['two\nlines', 'u-1', 'x']]]),
      await rawPeer(server, [
        [Type.SET_CLIENT_ID, ['evil : fake.fn']],
        [Type.CAN_DO, ['real.fn']],
      ]),
      await rawPeer(server, [
        [Type.SET_CLIENT_ID, ['\u001b]0;pwned\u0007']],
        [Type.CAN_DO, ['\u001b[31mred']],
      ]),
    );
    await eventually(async () => (await run('gearadmin', ['-h', server.host, '-p', String(server.port), '--status'])).stdout.includes('real.fn'));
  });

  afterAll(async () => {
    for (const peer of peers) peer.destroy();
    await server.kill();
  });

  test('G7: a function name with a newline no longer breaks status: the bad line is reported and skipped, the rest shows', async () => {
    const result = await cli('status', '-s', address);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`${address}: skipped a status line that does not parse: two`);
    expect(result.stdout).toMatch(/^real\.fn\s+0\s+0\s+1$/m);
  });

  test('G7: a client id holding " : " cannot add functions to its worker', async () => {
    const result = await cli('status', '-s', address, '--json');
    expect(result.code).toBe(0);
    const [report] = JSON.parse(result.stdout) as StatusJson[];
    const evil = report!.workers!.find((worker) => worker.clientId.startsWith('evil'));
    expect(evil).toEqual(expect.objectContaining({ clientId: 'evil : fake.fn', functions: ['real.fn'] }));
    expect(report!.workers!.flatMap((worker) => worker.functions)).not.toContain('fake.fn');
  });

  test('G7: control characters in function names and client ids reach the terminal escaped', async () => {
    const table = await cli('status', '-s', address);
    expect(table.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(table.stdout).toContain('\\x1b[31mred');
    const json = await cli('status', '-s', address, '--json');
    expect(json.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    const [report] = JSON.parse(json.stdout) as StatusJson[];
    expect(report!.workers!.map((worker) => worker.clientId)).toContain('\u001b]0;pwned\u0007');
  });

  test('G8: with one server down, status prints the healthy one, names the down one, and exits 3', async () => {
    const table = await cli('status', '-s', address, '-s', '127.0.0.1:1');
    expect(table.code).toBe(3);
    expect(table.stdout).toContain(`${address} (`);
    expect(table.stdout).toMatch(/^real\.fn\s+0\s+0\s+1$/m);
    expect(table.stderr).toContain('127.0.0.1:1: connect ECONNREFUSED');
    expect(table.stderr).toContain('1 of 2 job servers could not be asked');
    const json = await cli('status', '-s', '127.0.0.1:1', '-s', address, '--json');
    expect(json.code).toBe(3);
    const reports = JSON.parse(json.stdout) as StatusJson[];
    expect(reports.map((report) => [report.server, report.error === undefined])).toEqual([
      ['127.0.0.1:1', false],
      [address, true],
    ]);
  });
});
