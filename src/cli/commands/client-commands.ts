import { randomUUID } from 'node:crypto';
import { defineCommand } from 'citty';
import { utf8 } from '../../protocol/codec/text.ts';
import { isImageId } from '../../images/image-id.ts';
import { BUILD_PREFIX, DELETE_PREFIX, UPLOAD_PREFIX } from '../../worker/jobs.ts';
import { UsageError, runCli } from '../cli-error.ts';
import { Budget, submitFromCli, timeoutArg, timeoutMs, waitArg } from '../job-submission.ts';
import { progressReporter } from '../progress.ts';
import { serverArgs, serversFrom } from '../server-args.ts';

/** Prints a job's JSON result, pretty for people and as-is with --json. */
function printResult(data: Uint8Array, json: boolean, summary: (value: Record<string, unknown>) => string): void {
  const text = utf8(data);
  if (json) {
    process.stdout.write(`${text || '{}'}\n`);
    return;
  }
  let value: Record<string, unknown> = {};
  try {
    value = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    process.stdout.write(`${text}\n`);
    return;
  }
  process.stdout.write(`${summary(value)}\n`);
}

export const imageBuildCommand = defineCommand({
  meta: { name: 'image-build', description: 'Build an image on a builder that can build NAME (image-build:NAME).' },
  args: {
    name: { type: 'positional', description: 'The diskimage name', required: true },
    id: { type: 'string', description: 'The image id (a new uuid by default)' },
    follow: { type: 'boolean', description: 'Show the build output as it comes' },
    ...timeoutArg,
    ...waitArg,
    ...serverArgs,
  },
  run: ({ args, rawArgs }) =>
    runCli(args.debug === true, async () => {
      const id = args.id ?? randomUUID().replaceAll('-', '');
      if (!isImageId(id)) throw new UsageError(`--id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}, got ${id}`);
      const servers = serversFrom(args, rawArgs);
      const result = await submitFromCli({
        servers,
        functionName: BUILD_PREFIX + args.name,
        payload: JSON.stringify({ 'image-id': id, ...(args.follow ? { follow: true } : {}) }),
        budget: new Budget(timeoutMs(args.timeout)),
        wait: args.wait === true,
        onData: (chunk) => process.stderr.write(chunk),
      });
      printResult(result.data, args.json === true, (v) => `built ${args.name} as ${String(v['image-id'] ?? id)}`);
    }),
});

export const imageUploadCommand = defineCommand({
  meta: { name: 'image-upload', description: 'Upload image ID to PROVIDER from the builder that holds it (image-upload:ID).' },
  args: {
    id: { type: 'positional', description: 'The image id', required: true },
    provider: { type: 'positional', description: 'The provider name from the builder config', required: true },
    'image-name': { type: 'string', description: "The image's name in the cloud (the provider's image-name-format by default)" },
    ...timeoutArg,
    ...waitArg,
    ...serverArgs,
  },
  run: ({ args, rawArgs }) =>
    runCli(args.debug === true, async () => {
      const servers = serversFrom(args, rawArgs);
      const progress = progressReporter(`upload ${args.id} to ${args.provider}`);
      const request = { provider: args.provider, ...(args['image-name'] ? { 'image-name': args['image-name'] } : {}) };
      const result = await submitFromCli({
        servers,
        functionName: UPLOAD_PREFIX + args.id,
        payload: JSON.stringify(request),
        budget: new Budget(timeoutMs(args.timeout)),
        wait: args.wait === true,
        onStatus: (sent, total) => progress.update(sent, total),
      }).finally(() => progress.done());
      printResult(result.data, args.json === true, (v) => `uploaded ${args.id} to ${args.provider}: ${String(v['external-id'])}`);
    }),
});

export const imageDeleteCommand = defineCommand({
  meta: { name: 'image-delete', description: 'Delete image ID from the builder that holds it (image-delete:ID).' },
  args: {
    id: { type: 'positional', description: 'The image id', required: true },
    ...timeoutArg,
    ...waitArg,
    ...serverArgs,
  },
  run: ({ args, rawArgs }) =>
    runCli(args.debug === true, async () => {
      const servers = serversFrom(args, rawArgs);
      const result = await submitFromCli({
        servers,
        functionName: DELETE_PREFIX + args.id,
        payload: '',
        budget: new Budget(timeoutMs(args.timeout)),
        wait: args.wait === true,
      });
      printResult(result.data, args.json === true, () => `deleted ${args.id}`);
    }),
});
