import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface Trial {
  /** Process start to exit, for every process the contender needed. */
  readonly wallSeconds: number;
  /** The transfer alone, as the contender measured it (curl's time_total; our in-process time). */
  readonly transferSeconds: number;
  /** Peak RSS of the uploading process, when known (ours). */
  readonly peakRssMiB?: number;
}

export interface Target {
  readonly bunPath: string;
  readonly file: string;
  readonly size: number;
  readonly md5: string;
  readonly sha256: string;
}

interface Exited {
  readonly stdout: string;
  readonly seconds: number;
}

function exec(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Exited> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, seconds: (performance.now() - started) / 1000 });
      else reject(new Error(`${command} ${args.slice(0, 3).join(' ')}… exited ${code}: ${stderr.slice(-500)}`));
    });
  });
}

const OURS = join(import.meta.dir, 'ours.ts');

async function ours(target: Target, args: string[]): Promise<Trial> {
  const run = await exec(target.bunPath, [OURS, ...args]);
  const reported = JSON.parse(run.stdout.trim().split('\n').pop()!) as { seconds: number; vmHwmKiB: number };
  return { wallSeconds: run.seconds, transferSeconds: reported.seconds, peakRssMiB: reported.vmHwmKiB / 1024 };
}

export function oursToSink(target: Target, url: string, hashes: string): Promise<Trial> {
  return ours(target, ['sink', url, target.file, hashes]);
}

export function oursToGlance(target: Target, cloudsFile: string, cloud: string, uploadHashing: 'auto' | 'in-stream', hashes = 'md5,sha256'): Promise<Trial> {
  return ours(target, ['glance', cloudsFile, cloud, target.file, target.md5, target.sha256, uploadHashing, hashes]);
}

export async function curlToSink(target: Target, url: string): Promise<Trial> {
  const run = await exec('curl', ['-sS', '-f', '-o', '/dev/null', '-w', '%{time_total}', '-T', target.file, url]);
  return { wallSeconds: run.seconds, transferSeconds: Number(run.stdout) };
}

/** What an operator would do with curl: POST the image, then PUT the file with -T. */
export async function curlToGlance(target: Target, glanceUrl: string, name: string): Promise<Trial> {
  const create = await exec('curl', [
    '-sS', '-f', '-X', 'POST', `${glanceUrl}/v2/images`, '-H', 'Content-Type: application/json', '-w', '\n%{time_total}',
    '-d', JSON.stringify({ name, disk_format: 'raw', container_format: 'bare', visibility: 'private' }),
  ]);
  const [body, createTime] = create.stdout.split('\n');
  const id = (JSON.parse(body!) as { id: string }).id;
  const put = await exec('curl', [
    '-sS', '-f', '-o', '/dev/null', '-w', '%{time_total}', '-X', 'PUT', '-H', 'Content-Type: application/octet-stream',
    '-T', target.file, `${glanceUrl}/v2/images/${id}/file`,
  ]);
  return { wallSeconds: create.seconds + put.seconds, transferSeconds: Number(createTime) + Number(put.stdout) };
}

export async function openstackToGlance(target: Target, cloudsFile: string, cloud: string, name: string): Promise<Trial> {
  const run = await exec(
    'openstack',
    ['--os-cloud', cloud, 'image', 'create', '--file', target.file, '--disk-format', 'raw', '--container-format', 'bare', '--private', name, '-f', 'value', '-c', 'id'],
    { ...process.env, OS_CLIENT_CONFIG_FILE: cloudsFile },
  );
  return { wallSeconds: run.seconds, transferSeconds: run.seconds };
}
