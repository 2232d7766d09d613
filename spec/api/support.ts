import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import type { BuilderConfig } from '../../src/config/schema.ts';
import { StateStore } from '../../src/scheduler/state-store.ts';

export const TOKEN = 's3cret-token-for-tests';
/** 2026-01-01T00:00:00Z: the API's clock in these tests. */
export const NOW = Date.UTC(2026, 0, 1);
const policy = { baseMs: 60_000, capMs: 3_600_000 };

/** debian goes to p1 and p2 (paused there by the file); centos is paused by the file and goes to p1 only. */
export function apiConfig(dir: string): BuilderConfig {
  const text = `images-dir = "${dir}/images"
[[diskimages]]
name = "debian"
elements = ["vm"]
[[diskimages]]
name = "centos"
elements = ["vm"]
pause = true
[[providers]]
name = "p1"
[[providers]]
name = "p2"
diskimages = [{ name = "debian", pause = true }]
[scheduler]
state-file = "${dir}/state.sqlite"
`;
  return parseConfig(text, join(dir, 'scheduler.toml'));
}

export interface Bed {
  readonly dir: string;
  readonly store: StateStore;
  readonly config: BuilderConfig;
  readonly tokenFile: string;
}

/**
 * A real state file: debian has a ready build b1 (ready upload u1 to p1, an upload u2 to p2
 * that failed with a reason) and a build b2 running; centos has nothing.
 */
export function bed(): Bed {
  const dir = mkdtempSync(join(tmpdir(), 'api-'));
  const config = apiConfig(dir);
  const store = StateStore.open(config.scheduler!.stateFile);
  const t = NOW - 3_600_000;
  store.recordBuildStarted({ id: 'b1', diskimage: 'debian' }, t);
  store.recordBuildReady('b1', { builder: 'builder-1', formats: ['qcow2', 'raw'] }, t + 60_000);
  store.recordUploadStarted({ id: 'u1', buildId: 'b1', provider: 'p1', externalId: 'ext-1', externalName: 'debian-1767222000' }, t + 120_000);
  store.recordUploadReady('u1', 'ext-1', t + 180_000);
  store.recordUploadStarted({ id: 'u2', buildId: 'b1', provider: 'p2', externalId: 'ext-2', externalName: 'debian-1767222000' }, t + 120_000);
  store.recordUploadFailed('u2', 'Glance said 503\nService Unavailable', t + 240_000, policy);
  store.recordBuildStarted({ id: 'b2', diskimage: 'debian' }, NOW - 60_000);
  const tokenFile = join(dir, 'api-token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  return { dir, store, config, tokenFile };
}

/** Sends raw bytes (what no well-behaved client sends) and returns the raw response. */
export function rawRequest(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    socket.on('data', (chunk: Buffer) => {
      response += chunk.toString('latin1');
    });
    socket.on('error', (err) => (response ? resolve(response) : reject(err)));
    socket.on('close', () => resolve(response));
    socket.write(bytes, () => socket.end());
  });
}
