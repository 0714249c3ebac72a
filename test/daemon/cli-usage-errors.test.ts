// A usage mistake on the command line is one clear line on stderr and a non-zero exit, like every other error
// (README: "Errors are one clear line"), not the error followed by the whole help page.
import assert from 'node:assert/strict';
import { runCli } from '../support/cli.js';

describe('gemxrf usage errors', () => {
  for (const [args, reason] of [
    [['scan', 'start'], /^gemxrf: required option '--name <name>' not specified \(--help for usage\)$/],
    [['no-such-command'], /^gemxrf: unknown command 'no-such-command' \(--help for usage\)$/],
    [['eval', '--no-such-flag'], /^gemxrf: unknown option '--no-such-flag' \(--help for usage\)$/],
  ] as const) {
    it(`gemxrf ${args.join(' ')}`, () => {
      const r = runCli([...args]);
      assert.notEqual(r.status, 0);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, reason);
    });
  }

  it('--help still prints the usage and exits 0', () => {
    const r = runCli(['scan', 'start', '--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: gemxrf scan start/);
  });
});
