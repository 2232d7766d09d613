import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DiskImageConfig } from '../config/schema.ts';
import type { BuildContext, ImageBuilder } from './builder.ts';

const run = promisify(execFile);

/** diskimage-builder: `disk-image-create -x -t <formats> --checksum [--no-tmpfs] -o <out>/<name> <elements>`. */
export const dibBuilder: ImageBuilder = {
  kind: 'dib',

  async build({ image, outputDir, host, run: runCommand }: BuildContext): Promise<void> {
    const argv = [
      image.dibCmd,
      ...(image.dibTrace ? ['-x'] : []),
      '-t',
      image.formats.join(','),
      '--checksum',
      ...(image.noTmpfs ? ['--no-tmpfs'] : []),
      ...image.dibArgs,
      '-o',
      join(outputDir, image.name),
      ...image.elements,
    ];
    const env: Record<string, string> = { ...inheritedEnv(), ...image.envVars };
    if (image.release) env.DIB_RELEASE = image.release;
    if (host.elementsPath.length) env.ELEMENTS_PATH = host.elementsPath.join(':');
    if (host.dibImageCache) env.DIB_IMAGE_CACHE = host.dibImageCache;
    await runCommand(argv, env);
  },

  async version(image: DiskImageConfig): Promise<string | undefined> {
    try {
      const { stdout, stderr } = await run(image.dibCmd, ['--version'], { timeout: 30_000 });
      return (stdout || stderr).trim().split('\n').pop();
    } catch {
      return undefined;
    }
  },
};

/** The builder's own environment minus what would leak into or confuse a build. */
export function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('OS_') || key === 'NODEPOOL_BUILDER_CONFIG') continue;
    env[key] = value;
  }
  return env;
}
