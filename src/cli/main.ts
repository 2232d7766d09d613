import { type ArgsDef, type CommandDef, defineCommand, renderUsage, runCommand } from 'citty';
import pkg from '../../package.json' with { type: 'json' };
import { errorCode } from '../errors/thrown.ts';
import { argumentProblem } from './arg-check.ts';
import { EXIT } from './cli-error.ts';
import {
  imageBuildDeleteCommand,
  imageBuildRequestCommand,
  imageListCommand,
  imagePauseCommand,
  imageStatusCommand,
  imageUnpauseCommand,
  imageUploadDeleteCommand,
} from './commands/api-commands.ts';
import { imageBuildCommand, imageDeleteCommand, imageUploadCommand } from './commands/client-commands.ts';
import { configValidateCommand } from './commands/config-validate.ts';
import { dibImageListCommand } from './commands/dib-image-list.ts';
import { geardCommand } from './commands/geard.ts';
import { imageUpdateCommand } from './commands/image-update.ts';
import { runCommand as runWorkerCommand } from './commands/run.ts';
import { schedulerCommand } from './commands/scheduler.ts';
import { exportStateCommand, importStateCommand } from './commands/state-commands.ts';
import { statusCommand } from './commands/status.ts';
import { colourAllowed, withoutColour } from './colour.ts';

/** A subcommand as the dispatcher needs it; built per command so each keeps its own argument types. */
interface Entry {
  args(): Promise<ArgsDef>;
  usage(stream: NodeJS.WriteStream): Promise<void>;
  run(rawArgs: string[]): Promise<void>;
}

async function usage(text: Promise<string>, stream: NodeJS.WriteStream): Promise<void> {
  const rendered = await text;
  stream.write(`${colourAllowed(stream) ? rendered : withoutColour(rendered)}\n\n`);
}

const META = {
  name: 'nodepool-builder',
  version: pkg.version,
  description: 'Builds cloud images with diskimage-builder and uploads them to Glance, as a gearman worker.',
};

function entry<T extends ArgsDef>(command: CommandDef<T>): Entry {
  return {
    args: async () => {
      const def = command.args;
      return (await (typeof def === 'function' ? def() : def)) ?? {};
    },
    // The parent is read for its name only.
    usage: (stream) => usage(renderUsage(command, { meta: META }), stream),
    run: async (rawArgs) => {
      await runCommand(command, { rawArgs });
    },
  };
}

const entries: Readonly<Record<string, Entry>> = {
  run: entry(runWorkerCommand),
  geard: entry(geardCommand),
  'image-build': entry(imageBuildCommand),
  'image-upload': entry(imageUploadCommand),
  'image-delete': entry(imageDeleteCommand),
  'image-update': entry(imageUpdateCommand),
  status: entry(statusCommand),
  'dib-image-list': entry(dibImageListCommand),
  'image-list': entry(imageListCommand),
  'image-status': entry(imageStatusCommand),
  'image-pause': entry(imagePauseCommand),
  'image-unpause': entry(imageUnpauseCommand),
  'image-build-request': entry(imageBuildRequestCommand),
  'image-upload-delete': entry(imageUploadDeleteCommand),
  'image-build-delete': entry(imageBuildDeleteCommand),
  'config-validate': entry(configValidateCommand),
  scheduler: entry(schedulerCommand),
  'export-state': entry(exportStateCommand),
  'import-state': entry(importStateCommand),
};

/** The top level, for its help: the subcommands are dispatched by start(). */
export const main = defineCommand({
  meta: META,
  subCommands: {
    run: runWorkerCommand,
    geard: geardCommand,
    'image-build': imageBuildCommand,
    'image-upload': imageUploadCommand,
    'image-delete': imageDeleteCommand,
    'image-update': imageUpdateCommand,
    status: statusCommand,
    'dib-image-list': dibImageListCommand,
    'image-list': imageListCommand,
    'image-status': imageStatusCommand,
    'image-pause': imagePauseCommand,
    'image-unpause': imageUnpauseCommand,
    'image-build-request': imageBuildRequestCommand,
    'image-upload-delete': imageUploadDeleteCommand,
    'image-build-delete': imageBuildDeleteCommand,
    'config-validate': configValidateCommand,
    scheduler: schedulerCommand,
    'export-state': exportStateCommand,
    'import-state': importStateCommand,
  },
});

/** A usage error: one line naming what was wrong and where help is, exit code 2. */
function refuse(message: string, command?: string): never {
  const name = command ? `nodepool-builder ${command}` : 'nodepool-builder';
  process.stderr.write(`${name}: ${message} (see ${name} --help)\n`);
  process.exit(EXIT.usage);
}

/**
 * citty's runMain, but usage errors exit 2 as the README promises (citty exits 1), unknown
 * flags and stray arguments are refused instead of dropped, and colour goes only to a terminal.
 */
async function start(rawArgs: readonly string[]): Promise<void> {
  const beforeDashes = rawArgs.includes('--') ? rawArgs.slice(0, rawArgs.indexOf('--')) : rawArgs;
  const name = rawArgs[0];
  const command = name === undefined ? undefined : entries[name];
  if (beforeDashes.includes('--help') || beforeDashes.includes('-h')) {
    await (command ? command.usage(process.stdout) : usage(renderUsage(main), process.stdout));
    return;
  }
  if (rawArgs.length === 1 && (name === '--version' || name === '-v')) {
    process.stdout.write(`${pkg.version}\n`);
    return;
  }
  if (name === undefined) {
    await usage(renderUsage(main), process.stderr);
    refuse('no command given');
  }
  if (!command) refuse(`unknown command ${JSON.stringify(name)}`);
  const rest = rawArgs.slice(1);
  const problem = argumentProblem(await command.args(), rest);
  if (problem) refuse(problem, name);
  await command.run([...rest]);
}

// `status | head` closes the pipe early: stop quietly, as other tools do, instead of a stack trace.
process.stdout.on('error', (err) => {
  if (errorCode(err) === 'EPIPE') process.exit(0);
  throw err;
});

await start(process.argv.slice(2));
