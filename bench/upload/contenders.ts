import { join } from 'node:path';
import { run } from '../../spec/support/run.ts';

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

async function exec(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Exited> {
  const started = performance.now();
  const { code, stdout, stderr } = await run(command, args, '', 3_600_000, { env });
  if (code !== 0) throw new Error(`${command} ${args.slice(0, 3).join(' ')}… exited ${code}: ${stderr.slice(-500)}`);
  return { stdout, seconds: (performance.now() - started) / 1000 };
}

const OURS = join(import.meta.dir, 'ours.ts');

async function ours(target: Target, args: string[]): Promise<Trial> {
  const exited = await exec(target.bunPath, [OURS, ...args]);
  const reported = JSON.parse(exited.stdout.trim().split('\n').pop()!) as { seconds: number; vmHwmKiB: number };
  return { wallSeconds: exited.seconds, transferSeconds: reported.seconds, peakRssMiB: reported.vmHwmKiB / 1024 };
}

export function oursToSink(target: Target, url: string, hashes: string): Promise<Trial> {
  return ours(target, ['sink', url, target.file, hashes]);
}

export function oursToGlance(target: Target, cloudsFile: string, cloud: string, uploadHashing: 'auto' | 'in-stream', hashes = 'md5,sha256'): Promise<Trial> {
  return ours(target, ['glance', cloudsFile, cloud, target.file, target.md5, target.sha256, uploadHashing, hashes]);
}

export async function curlToSink(target: Target, url: string): Promise<Trial> {
  const exited = await exec('curl', ['-sS', '-f', '-o', '/dev/null', '-w', '%{time_total}', '-T', target.file, url]);
  return { wallSeconds: exited.seconds, transferSeconds: Number(exited.stdout) };
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
  const exited = await exec(
    'openstack',
    ['--os-cloud', cloud, 'image', 'create', '--file', target.file, '--disk-format', 'raw', '--container-format', 'bare', '--private', name, '-f', 'value', '-c', 'id'],
    { ...process.env, OS_CLIENT_CONFIG_FILE: cloudsFile },
  );
  return { wallSeconds: exited.seconds, transferSeconds: exited.seconds };
}
