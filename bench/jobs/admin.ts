/** gearmand's text "status" command, to see that every worker connection has registered. */
import { connect } from 'node:net';

export interface QueueStatus {
  readonly total: number;
  readonly running: number;
  readonly workers: number;
}

export function adminStatus(host: string, port: number): Promise<Map<string, QueueStatus>> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let text = '';
    socket.on('error', reject);
    socket.on('connect', () => socket.write('status\n'));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!text.endsWith('.\n')) return;
      socket.destroy();
      const status = new Map<string, QueueStatus>();
      for (const line of text.split('\n')) {
        const [name, total, running, workers] = line.split('\t');
        if (name && workers !== undefined) {
          status.set(name, { total: Number(total), running: Number(running), workers: Number(workers) });
        }
      }
      resolve(status);
    });
  });
}

/** Waits until `fn` has at least `workers` registered worker connections. */
export async function waitForWorkers(host: string, port: number, fn: string, workers: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = (await adminStatus(host, port)).get(fn)?.workers ?? 0;
    if (seen >= workers) return;
    if (Date.now() > deadline) throw new Error(`${fn}: ${seen} of ${workers} worker connections registered after ${timeoutMs} ms`);
    await Bun.sleep(20);
  }
}
