/**
 * A child process that writes to a state file without pause and prints "ack <n>" after each
 * transaction commits, so a test can kill -9 it mid-write and check what survived.
 *   bun state-writer.ts FILE imports   — each transaction replaces the whole state by generation n
 *   bun state-writer.ts FILE failures  — each transaction fails one upload and bumps its backoff
 */
import { StateStore } from '../../../src/scheduler/state-store.ts';
import { generation } from './state-generations.ts';

const [file, mode] = process.argv.slice(2);
if (!file || (mode !== 'imports' && mode !== 'failures')) throw new TypeError('usage: state-writer.ts FILE imports|failures');
const store = StateStore.open(file);
const policy = { baseMs: 1000, capMs: 60_000 };
const ack = (n: number): void => {
  process.stdout.write(`ack ${n}\n`);
};

if (mode === 'imports') {
  for (let n = 1; ; n++) {
    store.importDocument(generation(n), { replace: true });
    ack(n);
  }
} else {
  store.recordBuildStarted({ id: 'b1', diskimage: 'debian' }, 1);
  store.recordBuildReady('b1', { builder: 'builder-1', formats: ['qcow2'] }, 2);
  for (let n = 1; ; n++) {
    const id = `u${n}`;
    store.recordUploadStarted({ id, buildId: 'b1', provider: `p${n % 3}`, externalId: undefined, externalName: undefined }, n);
    store.recordUploadFailed(id, `failure ${n}`, n, policy);
    ack(n);
  }
}
