import { toError } from '../../errors/thrown.ts';
import { randomUUID } from 'node:crypto';
import { defineCommand } from 'citty';
import { loadConfig } from '../../config/load.ts';
import type { Client } from '../../protocol/client/client.ts';
import type { ServerAddress } from '../../protocol/transport/connect-address.ts';
import { JobFailedError } from '../../protocol/client/client-errors.ts';
import { utf8 } from '../../protocol/codec/text.ts';
import { isImageId } from '../../images/image-id.ts';
import { BUILD_PREFIX, UPLOAD_PREFIX } from '../../worker/jobs.ts';
import { CommandFailed, UsageError, runCli } from '../cli-error.ts';
import { progressBoard } from '../progress-board.ts';
import { repeated, serverArgs, serversFrom } from '../server-args.ts';
import { renderTable } from '../table.ts';
import { Budget, cliClient, requireWorker, submitWith, timeoutArg, timeoutMs, waitArg } from '../job-submission.ts';

/** One provider's upload: the worker's result (with "external-id"), or why it failed. */
type UploadOutcome = { readonly result: Readonly<Record<string, unknown>> } | { readonly error: string };

interface ImageUpdate {
  readonly imageId: string;
  readonly uploads: ReadonlyMap<string, UploadOutcome>;
}

interface ProviderChoice {
  readonly 'all-providers'?: boolean | undefined;
  readonly config?: string | undefined;
}

/**
 * --provider (repeatable, or comma-separated), or every [[providers]] entry of the config file.
 * With -c, a named provider must be in the config: found out now, not after the whole build.
 */
async function chosenProviders(args: ProviderChoice, rawArgs: readonly string[]): Promise<string[]> {
  const named = repeated(rawArgs, '--provider');
  if (args['all-providers'] === true) {
    if (named.length) throw new UsageError('--provider and --all-providers exclude each other');
    if (!args.config) throw new UsageError('--all-providers reads the providers from the builder config: give it with -c FILE');
    const config = await loadConfig(args.config);
    if (!config.providers.length) throw new UsageError(`${config.file} has no [[providers]]`);
    return config.providers.map((provider) => provider.name);
  }
  if (!named.length) throw new UsageError('name the providers with --provider P (repeatable), or use --all-providers -c FILE');
  if (args.config) {
    const config = await loadConfig(args.config);
    const known = config.providers.map((provider) => provider.name);
    const unknown = named.filter((name) => !known.includes(name));
    if (unknown.length) {
      throw new UsageError(`${config.file} has no provider ${unknown.join(', ')} (it has: ${known.join(', ') || 'none'})`);
    }
  }
  return [...new Set(named)];
}

function failureReason(err: unknown): string {
  if (err instanceof JobFailedError && err.reason) return err.reason;
  return toError(err).message;
}

function uploadOutcome(data: Uint8Array): UploadOutcome {
  const text = utf8(data);
  try {
    const result = JSON.parse(text) as unknown;
    if (typeof result === 'object' && result !== null && typeof (result as Record<string, unknown>)['external-id'] === 'string') {
      return { result: result as Record<string, unknown> };
    }
  } catch {
    // falls through to the error below
  }
  return { error: `the worker answered without an external-id: ${text}` };
}

/** Builds the image, then uploads it to every provider at once; a failed upload leaves the others be. */
async function updateImage(
  client: Client,
  servers: readonly ServerAddress[],
  name: string,
  imageId: string,
  providers: readonly string[],
  budget: Budget,
): Promise<ImageUpdate> {
  process.stderr.write(`building ${name} as ${imageId}\n`);
  await submitWith(client, { servers, functionName: BUILD_PREFIX + name, payload: JSON.stringify({ 'image-id': imageId }), budget });
  process.stderr.write(`built ${name} as ${imageId}; uploading to ${providers.join(', ')}\n`);
  const board = progressBoard(providers);
  const outcomes = await Promise.all(
    providers.map(async (provider): Promise<UploadOutcome> => {
      let outcome: UploadOutcome;
      try {
        const job = await submitWith(client, {
          servers,
          functionName: UPLOAD_PREFIX + imageId,
          payload: JSON.stringify({ provider }),
          budget,
          onStatus: (sent, total) => board.update(provider, sent, total),
        });
        outcome = uploadOutcome(job.data);
      } catch (err) {
        outcome = { error: failureReason(err) };
      }
      board.finish(provider, 'result' in outcome ? `uploaded as ${String(outcome.result['external-id'])}` : `failed: ${outcome.error}`);
      return outcome;
    }),
  );
  return { imageId, uploads: new Map(providers.map((provider, i) => [provider, outcomes[i]!])) };
}

function printUpdate(update: ImageUpdate, json: boolean): void {
  if (json) {
    const uploads = Object.fromEntries([...update.uploads].map(([provider, outcome]) => [provider, 'result' in outcome ? outcome.result : outcome]));
    process.stdout.write(`${JSON.stringify({ 'image-id': update.imageId, uploads })}\n`);
    return;
  }
  const rows = [...update.uploads].map(([provider, outcome]) => [
    provider,
    'result' in outcome ? String(outcome.result['external-id']) : `failed: ${outcome.error}`,
  ]);
  process.stdout.write(`image ${update.imageId}\n${renderTable(['PROVIDER', 'EXTERNAL ID'], rows)}\n`);
}

export const imageUpdateCommand = defineCommand({
  meta: { name: 'image-update', description: 'Build NAME, then upload the new image to each provider in parallel (image-upload:ID).' },
  args: {
    name: { type: 'positional', description: 'The diskimage name', required: true },
    id: { type: 'string', description: 'The image id (a new uuid by default)' },
    provider: {
      type: 'string',
      description: 'A provider name from the builder config; repeat it (or separate with commas) for several',
      valueHint: 'PROVIDER',
    },
    'all-providers': { type: 'boolean', description: 'Upload to every [[providers]] entry of the builder config (-c)' },
    config: {
      type: 'string',
      alias: 'c',
      description: 'The builder config file: --all-providers reads its providers, and --provider names are checked against it',
      valueHint: 'FILE',
    },
    timeout: {
      ...timeoutArg.timeout,
      description: 'Give up waiting for the build and uploads after this many seconds in all: jobs still queued then are cancelled, running ones go on',
    },
    ...waitArg,
    ...serverArgs,
  },
  run: ({ args, rawArgs }) =>
    runCli(args.debug === true, async () => {
      const imageId = args.id ?? randomUUID().replaceAll('-', '');
      if (!isImageId(imageId)) throw new UsageError(`--id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}, got ${imageId}`);
      const providers = await chosenProviders(args, rawArgs);
      const servers = serversFrom(args, rawArgs);
      const budget = new Budget(timeoutMs(args.timeout));
      if (args.wait !== true) await requireWorker(servers, BUILD_PREFIX + args.name, budget);
      const client = cliClient(servers, budget);
      const update = await updateImage(client, servers, args.name, imageId, providers, budget).finally(() => client.close());
      printUpdate(update, args.json === true);
      const failed = [...update.uploads.values()].filter((outcome) => 'error' in outcome).length;
      // Successful uploads stay in their clouds; the exit code still says not all went up.
      if (failed) throw new CommandFailed('UPLOADS_FAILED', `${failed} of ${update.uploads.size} uploads failed`);
    }),
});
