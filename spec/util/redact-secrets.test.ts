import { expect, test } from 'bun:test';
import { failureText, parseFailureText } from '../../src/errors/job-failure.ts';
import { redactSecrets } from '../../src/util/log-text.ts';

test('a failed build tail: secret env values and password=/token: values are redacted, other lines kept, controls escaped', () => {
  const lines = ['step 1', 'export DIB_REPO_PASSWORD=hunter2-long', 'using token tok-abcdef-123456 now', 'api_key: "k-998877"', 'colour \u001b[31mred', 'keyboard layout us'];
  expect(redactSecrets(lines, { DIB_REPO_PASSWORD: 'hunter2-long', SECRET_TOKEN: 'tok-abcdef-123456', DIB_RELEASE: 'bookworm' })).toEqual([
    'step 1',
    'export DIB_REPO_PASSWORD=<redacted>',
    'using token <redacted> now',
    'api_key: "<redacted>"',
    'colour \\u001b[31mred',
    'keyboard layout us',
  ]);
});

test('failureText and parseFailureText: the reason, then the tail after the mark; a reason of its own lines has no tail', () => {
  const text = failureText('dib exited with 1', ['a', 'b\nc', 'x'.repeat(300)]);
  expect(parseFailureText(text)).toEqual({ reason: 'dib exited with 1', logTail: ['a', 'b c', `${'x'.repeat(240)}…`] });
  expect(failureText('no tail', [])).toBe('no tail');
  expect(parseFailureText('Glance said 503\nService Unavailable')).toEqual({ reason: 'Glance said 503\nService Unavailable', logTail: [] });
});
