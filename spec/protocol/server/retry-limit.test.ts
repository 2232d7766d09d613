/** jobRetries: a job whose workers keep disconnecting is failed, gearmand's --job-retries. */
import { expect, test } from 'bun:test';
import { RawPeer, Type, adminRaw, startServer } from './raw-peer.ts';

test('after jobRetries lost workers, the clients get WORK_FAIL', async () => {
  const { server: limited, port: limitedPort } = await startServer({ jobRetries: 2 });
  try {
    const client = await RawPeer.open(limitedPort);
    client.send(Type.SUBMIT_JOB, ['crashy', 'u', '']);
    const { args: [handle] } = await client.next(Type.JOB_CREATED);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const w = await RawPeer.open(limitedPort);
      w.send(Type.CAN_DO, ['crashy']);
      w.send(Type.GRAB_JOB);
      await w.next(Type.JOB_ASSIGN);
      w.close();
    }
    expect((await client.next(Type.WORK_FAIL)).args).toEqual([handle!]);
    expect(await adminRaw(limitedPort, 'status')).toBe('crashy\t0\t0\t0\n.\n');
    client.close();
  } finally {
    await limited.close();
  }
});
