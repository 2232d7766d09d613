/** `run` embedding the job server with `geard-acl` (issue 16): the rules hold on its port, SIGHUP re-reads them. */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TINY_ELEMENTS, tinyImage } from '../support/builder-process.ts';
import { freePort } from '../support/ports.ts';
import { eventually, run, stopChild } from '../support/run.ts';
import { RawPeer, Type } from '../protocol/server/raw-peer.ts';

// `run`'s own worker reaches its embedded server over loopback without a certificate: anonymous.
const RULES = `
[[rule]]
cn = "anonymous"
register = ["image-*"]
admin = ["status"]
`;

let dir: string;
let port: number;
let builder: ChildProcess;
let stderr = '';

function config(acl: string): string {
  return [`images-dir = "${join(dir, 'images')}"`, 'min-free-space = "0"', `elements-path = ["${TINY_ELEMENTS}"]`, `geard-acl = "${acl}"`, tinyImage('tiny')].join('\n');
}

async function status(peer: RawPeer): Promise<string[]> {
  const from = peer.lines.length;
  peer.write('status\n');
  await eventually(() => peer.lines.slice(from).some((l) => l === '.' || l.startsWith('ERR')), 5000, 'status');
  return peer.lines.slice(from);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nodepool-builder-run-acl-'));
  writeFileSync(join(dir, 'acl.toml'), RULES);
  writeFileSync(join(dir, 'builder.toml'), config('acl.toml'));
  port = await freePort();
  builder = spawn(process.execPath, ['src/cli/main.ts', 'run', '-c', join(dir, 'builder.toml'), '--geard-listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  builder.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await eventually(() => {
    if (builder.exitCode !== null) throw new Error(`run exited with ${builder.exitCode}: ${stderr}`);
    return stderr.includes('access rules from');
  }, 30_000, 'run to start its job server with rules');
});

afterAll(() => stopChild(builder, 'SIGTERM'));

test('geard-acl: the builder registers on its embedded server, an anonymous submit is refused, and SIGHUP re-reads the rules', async () => {
  // The rules are read (and logged) before the server listens: connect once it does.
  let opened: RawPeer | undefined;
  await eventually(async () => (opened = await RawPeer.open(port).catch(() => undefined)) !== undefined, 30_000, 'the embedded job server to listen');
  const peer = opened!;
  try {
    await eventually(async () => (await status(peer)).some((l) => l.startsWith('image-build:tiny\t')), 30_000, 'image-build:tiny to be registered');
    peer.send(Type.SUBMIT_JOB, ['image-build:tiny', 'u1', '{}']);
    expect((await peer.next(Type.ERROR)).args).toEqual(['PERMISSION_DENIED', 'submit image-build:tiny: not granted to anonymous']);

    // A broken rules file: the reload is refused and the rules stay.
    writeFileSync(join(dir, 'acl.toml'), '[[rule]]\ncn = "anonymous"\nadmin = ["everything"]\n');
    builder.kill('SIGHUP');
    await eventually(() => stderr.includes('the access rules stay as they were'), 10_000, 'the refusal of the bad rules');
    expect((await status(peer)).at(-1)).toBe('.');

    // Rules without the admin grant: status is refused from then on.
    writeFileSync(join(dir, 'acl.toml'), RULES.replace('admin = ["status"]', ''));
    builder.kill('SIGHUP');
    await eventually(async () => (await status(peer))[0]?.startsWith('ERR PERMISSION_DENIED'), 10_000, 'status to be refused');
  } finally {
    peer.close();
  }
}, 60_000);

test('geard-acl naming a bad file stops run at start with a usage error (exit 2)', async () => {
  const bad = join(dir, 'bad.toml');
  writeFileSync(bad, 'rule = 1\n');
  const conf = join(dir, 'bad-builder.toml');
  writeFileSync(conf, config(bad));
  const result = await run(process.execPath, ['src/cli/main.ts', 'run', '-c', conf, '--geard-listen', `127.0.0.1:${await freePort()}`], '', 30_000);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`geard-acl: ${bad}: rule: expected [[rule]] tables`);
});

test('config-validate reads the geard-acl file too: a bad one exits 2 naming the key, the file and the rule', async () => {
  const bad = join(dir, 'typo-acl.toml');
  writeFileSync(bad, '[[rule]]\ncn = "anonymous"\nregister = "image-*"\n');
  const conf = join(dir, 'validate-builder.toml');
  writeFileSync(conf, config(bad));
  const result = await run(process.execPath, ['src/cli/main.ts', 'config-validate', '-c', conf], '', 30_000);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain(`geard-acl: ${bad}: rule[0] (cn "anonymous").register: expected a list of function patterns`);
  writeFileSync(conf, config(join(dir, 'acl.toml')));
  expect((await run(process.execPath, ['src/cli/main.ts', 'config-validate', '-c', conf], '', 30_000)).code).toBe(0);
});
