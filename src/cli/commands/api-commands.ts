import { defineCommand } from 'citty';
import { isImageId } from '../../images/image-id.ts';
import { apiArgs, callApi, printReply, tokenArgs } from '../api-client.ts';
import { UsageError, runCli } from '../cli-error.ts';

function checkName(what: string, value: string): string {
  if (!isImageId(value)) throw new UsageError(`${what} must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}, got ${JSON.stringify(value)}`);
  return value;
}

function readCommand(name: string, path: string, description: string) {
  return defineCommand({
    meta: { name, description },
    args: { ...apiArgs },
    run: ({ args }) =>
      runCli(args.debug === true, async () => {
        const json = args.json === true;
        printReply(await callApi({ api: args.api, method: 'GET', path, text: !json }), json);
      }),
  });
}

export const imageListCommand = readCommand('image-list', '/image-list', "List the scheduler's uploads: build id, upload id, provider, image, the cloud's name and id, state, age.");
export const imageStatusCommand = readCommand('image-status', '/image-status', 'Show per diskimage and provider: paused or not, the newest build and upload, failures and their reason.');

function pauseCommand(name: 'image-pause' | 'image-unpause', description: string) {
  return defineCommand({
    meta: { name, description },
    args: {
      name: { type: 'positional', description: 'The diskimage name', required: true },
      provider: { type: 'string', description: "Only this provider's uploads (else the diskimage's builds)", valueHint: 'PROVIDER' },
      ...tokenArgs,
      ...apiArgs,
    },
    run: ({ args }) =>
      runCli(args.debug === true, async () => {
        const image = checkName('NAME', args.name);
        const provider = args.provider === undefined ? undefined : checkName('--provider', args.provider);
        const json = args.json === true;
        const body = { image, ...(provider === undefined ? {} : { provider }) };
        printReply(await callApi({ api: args.api, method: 'POST', path: `/${name}`, body, tokenFile: args['token-file'], text: !json }), json);
      }),
  });
}

export const imagePauseCommand = pauseCommand('image-pause', 'Pause NAME at runtime: no new builds, or with --provider no new uploads there. What exists is kept.');
export const imageUnpauseCommand = pauseCommand('image-unpause', 'Undo image-pause (a pause in the config file stays).');

export const imageBuildRequestCommand = defineCommand({
  meta: { name: 'image-build-request', description: 'Ask the scheduler to build NAME now (it starts once no build of NAME runs).' },
  args: {
    name: { type: 'positional', description: 'The diskimage name', required: true },
    ...tokenArgs,
    ...apiArgs,
  },
  run: ({ args }) =>
    runCli(args.debug === true, async () => {
      const image = checkName('NAME', args.name);
      const json = args.json === true;
      printReply(await callApi({ api: args.api, method: 'POST', path: '/image-build-request', body: { image }, tokenFile: args['token-file'], text: !json }), json);
    }),
});

async function requestDelete(what: 'uploads' | 'builds', id: string, args: { api?: string | undefined; 'token-file'?: string | undefined; json?: boolean | undefined }): Promise<void> {
  const json = args.json === true;
  printReply(await callApi({ api: args.api, method: 'DELETE', path: `/${what}/${encodeURIComponent(id)}`, tokenFile: args['token-file'], text: !json }), json);
}

export const imageUploadDeleteCommand = defineCommand({
  meta: { name: 'image-upload-delete', description: 'Have the scheduler delete an upload from its cloud (a new one follows if it was the newest).' },
  args: {
    upload_id: { type: 'positional', description: 'The upload id (image-list)', required: true },
    ...tokenArgs,
    ...apiArgs,
  },
  run: ({ args }) => runCli(args.debug === true, () => requestDelete('uploads', checkName('UPLOAD_ID', args.upload_id), args)),
});

export const imageBuildDeleteCommand = defineCommand({
  meta: { name: 'image-build-delete', description: 'Have the scheduler delete a build from its builder, and its uploads from the clouds.' },
  args: {
    build_id: { type: 'positional', description: 'The build id (dib-image-list)', required: true },
    ...tokenArgs,
    ...apiArgs,
  },
  run: ({ args }) => runCli(args.debug === true, () => requestDelete('builds', checkName('BUILD_ID', args.build_id), args)),
});
