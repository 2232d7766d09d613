import { expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processFacts, recordProcessGroup, stopRecordedBuilds } from '../../src/images/stray-processes.ts';
import { captureLogs } from '../support/log-capture.ts';
import { eventually } from '../support/run.ts';

/** Gone, or a zombie waiting for its parent. */
const gone = (pid: number): boolean => {
  const stat = processFacts(pid) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : 'gone';
  return stat === 'gone' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
};

function stagingDir(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'stray-')), 'staging');
  mkdirSync(dir);
  return dir;
}

test('a recorded build process group is killed with every process in it, logged, and its record removed', async () => {
  const staging = stagingDir();
  // A detached leader and its child, like disk-image-create and its helpers.
  const leader = spawn('sh', ['-c', 'sleep 60 & sleep 61'], { detached: true, stdio: 'ignore' });
  await eventually(() => processFacts(leader.pid!)?.pgrp === leader.pid, 5000, 'the leader to lead its group');
  recordProcessGroup(staging, 'img-1', leader.pid!);
  const logs = captureLogs();
  const killed = await stopRecordedBuilds(staging, logs);
  expect(killed).toEqual([leader.pid!]);
  await eventually(() => leader.exitCode !== null || leader.signalCode !== null, 5000);
  expect(logs.at('warn').join('\n')).toContain(`killed process group ${leader.pid} `);
  expect(logs.at('warn').join('\n')).toContain('the unfinished build img-1');
  expect(readdirSync(staging)).toEqual([]);
});

test('a process that only mentions a staging path, or a group whose record no longer matches its leader, is left alone', async () => {
  const staging = stagingDir();
  mkdirSync(join(staging, 'x'));
  const bystander = spawn('sh', ['-c', 'sleep 62', 'watcher', join(staging, 'x', 'note')], { detached: true, stdio: 'ignore' });
  await eventually(() => processFacts(bystander.pid!) !== undefined, 5000, 'the bystander to run');
  // A record of the same group number from an earlier process (another start time): the pid was reused.
  const facts = processFacts(bystander.pid!)!;
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  writeFileSync(join(staging, `.x.${bystander.pid}.pgroup`), JSON.stringify({ pgid: bystander.pid, started: facts.started - 1, bootId }));
  const logs = captureLogs();
  expect(await stopRecordedBuilds(staging, logs)).toEqual([]);
  expect(logs.lines).toEqual([]);
  expect(gone(bystander.pid!)).toBe(false);
  bystander.kill();
});
