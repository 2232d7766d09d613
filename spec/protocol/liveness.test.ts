import { describe, expect, test } from 'bun:test';
import { Type } from '../../src/protocol/codec/packets.ts';
import { Worker } from '../../src/protocol/worker/worker.ts';
import { captureLogs } from '../support/log-capture.ts';
import { eventually } from '../support/run.ts';
import { startScriptedServer } from '../support/scripted-server.ts';

/** Answers a worker's GRABs with NO_JOB, and ECHO_REQ only while `answerEcho()` says so. */
const sleepyServer = (answerEcho: () => boolean) =>
  startScriptedServer((packet, connection) => {
    if (packet.type === Type.GRAB_JOB_UNIQ) connection.reply(Type.NO_JOB, []);
    if (packet.type === Type.ECHO_REQ && answerEcho()) connection.reply(Type.ECHO_RES, [packet.args[0]!]);
  });

describe('the ECHO_REQ liveness probe', () => {
  test('(fake server, like gear\'s geard) a server that never answers ECHO_REQ is tolerated', async () => {
    const server = await sleepyServer(() => false);
    const logs = captureLogs();
    const worker = new Worker({ servers: [server], logger: logs, echoIntervalMs: 50 });
    worker.register('fn', () => 'x');
    worker.start();
    await eventually(() => logs.at('debug').some((line) => line.includes('never answers ECHO_REQ')));
    await Bun.sleep(300);
    expect(server.connections).toBe(1);
    expect(logs.at('warn')).toEqual([]);
    await worker.stop(100);
    await server.close();
  });

  test('(fake server that hangs) a server that stops answering is dropped and reconnected', async () => {
    let answering = true;
    const server = await sleepyServer(() => answering);
    const logs = captureLogs();
    const worker = new Worker({ servers: [server], logger: logs, echoIntervalMs: 50, backoff: { initialDelayMs: 20, maxDelayMs: 50 } });
    worker.register('fn', () => 'x');
    worker.start();
    await Bun.sleep(300);
    expect(server.connections).toBe(1);
    answering = false;
    await eventually(() => server.connections >= 2, 5000, 'a reconnect');
    expect(logs.at('warn').some((line) => line.includes('no answer to ECHO_REQ'))).toBe(true);
    await worker.stop(100);
    await server.close();
  });
});
