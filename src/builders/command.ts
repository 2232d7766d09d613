import type { DiskImageConfig } from '../config/schema.ts';
import type { BuildContext, ImageBuilder } from './builder.ts';
import { inheritedEnv } from './dib.ts';

/**
 * Runs the operator's own argv (Packer, a Windows build script, an on-instance build driver)
 * with IMAGE_NAME, IMAGE_ID, OUTPUT_DIR and FORMATS (comma-separated) in its environment. It
 * must write OUTPUT_DIR/IMAGE_NAME.<format> for every format.
 */
export const commandBuilder: ImageBuilder = {
  kind: 'command',

  async build({ image, id, outputDir, run }: BuildContext): Promise<void> {
    await run(image.command, {
      ...inheritedEnv(),
      ...image.envVars,
      IMAGE_NAME: image.name,
      IMAGE_ID: id,
      OUTPUT_DIR: outputDir,
      FORMATS: image.formats.join(','),
    });
  },

  async version(_image: DiskImageConfig): Promise<string | undefined> {
    return undefined;
  },
};
