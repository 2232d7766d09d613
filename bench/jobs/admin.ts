/** gearmand's `status` row for one function (our AdminClient), to see every worker connection registered. */
import { AdminClient } from '../../src/protocol/client/admin-client.ts';
import type { FunctionStatus } from '../../src/protocol/codec/admin-replies.ts';

export async function functionStatus(host: string, port: number, fn: string): Promise<FunctionStatus | undefined> {
  const admin = new AdminClient({ host, port });
  try {
    return (await admin.status()).find((row) => row.function === fn);
  } finally {
    admin.close();
  }
}

/** Waits until `fn` has at least `workers` registered worker connections. */
export async function waitForWorkers(host: string, port: number, fn: string, workers: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = (await functionStatus(host, port, fn))?.workers ?? 0;
    if (seen >= workers) return;
    if (Date.now() > deadline) throw new Error(`${fn}: ${seen} of ${workers} worker connections registered after ${timeoutMs} ms`);
    await Bun.sleep(20);
  }
}
