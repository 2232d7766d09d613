import type { ImageBuilder } from './builder.ts';
import { commandBuilder } from './command.ts';
import { dibBuilder } from './dib.ts';

/** Builders by the name a diskimage's `builder` key uses. */
export const BUILDERS: Readonly<Record<string, ImageBuilder>> = {
  dib: dibBuilder,
  command: commandBuilder,
};
