import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median } from '../../src/core/stats.js';

// Expected values are numpy.median's on the same samples.
test('median: the middle value, or the mean of the two middle values; NaN when empty', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median(new Float64Array([0.3, -1e9, 7])), 0.3);
  assert.equal(median([5]), 5);
  assert.ok(Number.isNaN(median([])));
});
