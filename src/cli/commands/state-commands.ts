import { readFile, writeFile } from 'node:fs/promises';
import { defineCommand } from 'citty';
import { loadConfig } from '../../config/load.ts';
import { toError } from '../../errors/thrown.ts';
import { documentFromJson, documentToJson } from '../../scheduler/state-document.ts';
import { StateStore } from '../../scheduler/state-store.ts';
import { UsageError, runCli } from '../cli-error.ts';
import { schedulerTable } from './scheduler.ts';

const configArg = { type: 'string', alias: 'c', description: 'Configuration file (TOML) with a [scheduler] table', required: true, valueHint: 'FILE' } as const;

export const exportStateCommand = defineCommand({
  meta: { name: 'export-state', description: "Write the scheduler's state file as one JSON document (a backup)." },
  args: {
    config: configArg,
    output: { type: 'string', alias: 'o', description: 'Write here instead of stdout', valueHint: 'FILE' },
  },
  run: ({ args }) =>
    runCli(false, async () => {
      const scheduler = schedulerTable(await loadConfig(args.config));
      const store = StateStore.open(scheduler.stateFile);
      let text: string;
      try {
        text = `${JSON.stringify(documentToJson(store.exportDocument(), Date.now()), null, 2)}\n`;
      } finally {
        store.close();
      }
      if (args.output === undefined) process.stdout.write(text);
      else await writeFile(args.output, text, { mode: 0o600 });
    }),
});

export const importStateCommand = defineCommand({
  meta: { name: 'import-state', description: 'Load an export-state document into the state file (stop the scheduler first).' },
  args: {
    config: configArg,
    file: { type: 'positional', description: 'The export-state document', required: true, valueHint: 'FILE' },
    replace: { type: 'boolean', description: 'Drop the records the state file holds first (refused otherwise when it holds any)' },
  },
  run: ({ args }) =>
    runCli(false, async () => {
      const scheduler = schedulerTable(await loadConfig(args.config));
      let json: unknown;
      try {
        json = JSON.parse(await readFile(args.file, 'utf8'));
      } catch (err) {
        throw new UsageError(`${args.file}: not a readable JSON document: ${toError(err).message}`, { cause: err });
      }
      const document = documentFromJson(json);
      const store = StateStore.open(scheduler.stateFile);
      try {
        store.importDocument(document, { replace: args.replace === true });
      } finally {
        store.close();
      }
      process.stderr.write(`imported ${document.builds.length} build(s) and ${document.uploads.length} upload(s) into ${store.file}\n`);
    }),
});
