import assert from 'node:assert/strict';
import { test } from 'node:test';
import { intOption, numberOption } from '../../src/cli/options.js';
import { XentError } from '../../src/core/errors.js';

function refuses(f: () => unknown, message: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof XentError);
    assert.equal(e.code, 'invalid_argument');
    assert.match(e.message, message);
    return true;
  });
}

test('intOption: decimal integers within the range, undefined when absent', () => {
  assert.equal(intOption('eval', '--ctx', '512', 4), 512);
  assert.equal(intOption('eval', '--ctx', '+7', 4), 7);
  assert.equal(intOption('serve', '--port', '0', 0, 65535), 0);
  assert.equal(intOption('serve', '--port', '65535', 0, 65535), 65535);
  assert.equal(intOption('eval', '--chunks', undefined, 1), undefined);
});

test('intOption: what Number() would take but an integer option must not', () => {
  for (const v of ['', ' ', '0x10', '1e3', '2.0', '2.5', 'Infinity', 'NaN', '12abc', '9007199254740993'])
    refuses(() => intOption('eval', '--ctx', v, 1), /^eval: --ctx must be an integer ≥ 1, got /);
});

test('intOption: the message names the command, the flag, the range and the value as typed', () => {
  refuses(() => intOption('kld', '--top-k', '-1', 0), /^kld: --top-k must be an integer ≥ 0, got "-1"$/);
  refuses(
    () => intOption('serve', '--port', '70000', 0, 65535),
    /^serve: --port must be an integer in \[0, 65535\], got "70000"$/,
  );
});

test('numberOption: finite numbers in any notation; blanks and non-finite values refused', () => {
  assert.equal(numberOption('train', '--lr', '3e-3'), 0.003);
  assert.equal(numberOption('train', '--lr', '.5'), 0.5);
  assert.equal(numberOption('train', '--lr', undefined), undefined);
  for (const v of ['', '  ', 'abc', 'Infinity', '1/2'])
    refuses(() => numberOption('train', '--lr', v), /^train: --lr must be a number, got /);
});
