import { expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killStrayProcesses } from '../../src/images/stray-processes.ts';
import { eventually } from '../support/run.ts';

test('processes still working in a staging directory are killed with their process group', async () => {
  const staging = `${mkdtempSync(join(tmpdir(), 'stray-'))}/staging/`;
  // A detached leader and its child, like disk-image-create and its helpers.
  const leader = spawn('sh', ['-c', `sleep 60 & sleep 61; : ${staging}img-1/x`], { detached: true, stdio: 'ignore' });
  const bystander = spawn('sleep', ['62'], { stdio: 'ignore' });
  await Bun.sleep(200);
  const killed = await killStrayProcesses(staging);
  expect(killed).toContain(leader.pid!);
  await eventually(() => leader.exitCode !== null || leader.signalCode !== null, 5000);
  expect(bystander.exitCode).toBeNull();
  bystander.kill();
});
