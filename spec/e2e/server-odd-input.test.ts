/**
 * Odd but well-framed input, sent byte for byte to gearmand 1.1.20 and to our job server:
 * both must answer the same and keep the connection (issue 19, G9 and G10).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Buffer } from 'node:buffer';
import { AdminSocket, RawPeer, Type } from '../protocol/server/raw-peer.ts';
import { JOB_SERVERS, type JobServer } from '../support/job-servers.ts';

/** A packet built by hand, so any type, magic and body can be sent. */
function frame(magic: 'REQ' | 'RES', type: number, body: string | Uint8Array = ''): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body, 'latin1') : Buffer.from(body);
  const header = Buffer.alloc(12);
  header.write(`\0${magic}`, 0, 'latin1');
  header.writeUInt32BE(type, 4);
  header.writeUInt32BE(payload.length, 8);
  return Buffer.concat([header, payload]);
}

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

describe.each(JOB_SERVERS)('odd input, as $name answers it', (kind) => {
  let server: JobServer;

  beforeAll(async () => {
    server = await kind.start();
  });

  afterAll(async () => {
    await server.kill();
  });

  test('G10: a reply type sent as a request gets INVALID_COMMAND, a request with RES magic INVALID_MAGIC, and the connection carries on', async () => {
    const peer = await RawPeer.open(server.port);
    peer.write(
      Buffer.concat([
        frame('REQ', Type.NOOP),
        frame('REQ', Type.JOB_CREATED, 'H:x:1'),
        frame('REQ', Type.NO_JOB),
        frame('RES', Type.ECHO_REQ, 'upside down'),
        frame('REQ', Type.NOOP, 'a body on a packet that takes none'),
        frame('REQ', 5),
      ]),
    );
    peer.send(Type.ECHO_REQ, ['still here']);
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await peer.next());
    expect(replies.map((r) => [r.name, ...r.args])).toEqual([
      ['ERROR', 'INVALID_COMMAND', 'Command not expected'],
      ['ERROR', 'INVALID_COMMAND', 'Command not expected'],
      ['ERROR', 'INVALID_COMMAND', 'Command not expected'],
      ['ERROR', 'INVALID_MAGIC', 'Request magic expected'],
      ['ERROR', 'INVALID_COMMAND', 'Command not expected'],
      ['ERROR', 'INVALID_COMMAND', 'Command not expected'],
    ]);
    expect((await peer.next(Type.ECHO_RES)).args).toEqual(['still here']);
    expect(peer.closed).toBe(false);
    peer.close();
  });

  test('G10: a GRAB_JOB with a body still grabs (the body is skipped)', async () => {
    const worker = await RawPeer.open(server.port);
    const client = await RawPeer.open(server.port);
    worker.send(Type.CAN_DO, ['g10-grab-body']);
    await worker.sync();
    client.send(Type.SUBMIT_JOB_BG, ['g10-grab-body', '', 'payload']);
    const { args: [handle] } = await client.next(Type.JOB_CREATED);
    worker.write(frame('REQ', Type.GRAB_JOB, 'junk'));
    expect((await worker.next()).args).toEqual([handle!, 'g10-grab-body', 'payload']);
    worker.send(Type.WORK_COMPLETE, [handle!, '']);
    await worker.sync();
    worker.close();
    client.close();
  });

  test('G10: OPTION_REQ "exceptions\\0" is accepted and echoed whole, as gearmand reads the option as a C string', async () => {
    const peer = await RawPeer.open(server.port);
    peer.write(frame('REQ', Type.OPTION_REQ, 'exceptions\0'));
    peer.write(frame('REQ', Type.OPTION_REQ, 'status\0'));
    expect(await peer.next()).toMatchObject({ name: 'OPTION_RES', args: ['exceptions\0'] });
    expect(await peer.next()).toMatchObject({ name: 'ERROR', args: ['UNKNOWN_OPTION', 'Server does not recognize given option'] });
    peer.close();
  });

  test('G10: an admin line ends at its first NUL ("status\\0" is status)', async () => {
    const admin = await AdminSocket.open(server.port);
    const plain = await admin.command('version');
    expect(await admin.command('version\0trailing words')).toBe(plain);
    expect(await admin.command('status\0')).toBe(await admin.command('status'));
    admin.close();
  });

  test('G10: GET_STATUS_UNIQUE "-" names no job, even while a job submitted with unique "-" waits', async () => {
    const client = await RawPeer.open(server.port);
    client.send(Type.SUBMIT_JOB_BG, ['g10-dash', '-', 'some data']);
    await client.next(Type.JOB_CREATED);
    client.send(Type.GET_STATUS_UNIQUE, ['-']);
    expect((await client.next(Type.STATUS_RES_UNIQUE)).args).toEqual(['-', '0', '0', '0', '0', '0']);
    client.close();
  });

  test('G9: maxqueue, create function and drop function act on a latin-1 function name byte for byte', async () => {
    const admin = await AdminSocket.open(server.port);
    const limited = latin1('g9-caf\xe9');
    expect(await admin.command(Buffer.concat([latin1('create function '), limited]))).toBe('OK\r\n');
    expect(await admin.command('status')).toContain('g9-caf\xe9\t0\t0\t0\n');
    expect(await admin.command(Buffer.concat([latin1('maxqueue '), limited, latin1(' 1')]))).toBe('OK\r\n');
    const client = await RawPeer.open(server.port);
    client.send(Type.SUBMIT_JOB_BG, [limited, 'first', 'a']);
    await client.next(Type.JOB_CREATED);
    client.send(Type.SUBMIT_JOB_BG, [limited, 'second', 'b']);
    expect((await client.next()).args[0]).toBe('QUEUE_ERROR');
    client.close();

    const dropped = latin1('g9-\xfcber');
    expect(await admin.command(Buffer.concat([latin1('create function '), dropped]))).toBe('OK\r\n');
    expect(await admin.command('status')).toContain('g9-\xfcber\t0\t0\t0\n');
    // strcasecmp folds ASCII letters only: another case of a latin-1 letter is another name.
    expect(await admin.command(latin1('drop function G9-\xdcBER'))).toBe('ERR function not found\r\n');
    expect(await admin.command(Buffer.concat([latin1('drop function '), dropped]))).toBe('OK\r\n');
    expect(await admin.command('status')).not.toContain('g9-\xfcber');
    admin.close();
  });
});
