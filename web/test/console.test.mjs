// Unit tests of the console's pure parts (chart scaling, number format, a call's timeline),
// in Node: no browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { paths, fmt } from '../console/chart.js';
import { timeline, END_REASONS } from '../console/records.js';

test('paths scale every series into the box, sharing the axes', () => {
  const { paths: ds, maxY } = paths([[[0, 0], [10, 5]], [[0, 10], [10, 0]]], 100, 50, 0);
  assert.equal(maxY, 10);
  assert.equal(ds[0], 'M0.0,50.0 L100.0,25.0');
  assert.equal(ds[1], 'M0.0,0.0 L100.0,50.0');
});

test('paths of no points are empty', () => {
  assert.deepEqual(paths([[]], 100, 50).paths, ['']);
});

test('fmt keeps about three significant digits, none from 100', () => {
  assert.equal(fmt(4.38999), '4.39');
  assert.equal(fmt(123.6), '124');
  assert.equal(fmt(37.875), '37.9');
  assert.equal(fmt(0.12345), '0.123');
  assert.equal(fmt(NaN), '—');
});

test('timeline orders what happened and leaves out what did not', () => {
  const steps = timeline({
    caller: 'alice', callerDevice: 'a1', callee: 'bob', calleeDevice: 'b1', invitedAt: 1000, ringingAt: 1010,
    connectedAt: 1500, acceptedAt: 1400, endedAt: 9000, endReason: 103, endedBy: '', connectType: 1,
  });
  assert.deepEqual(steps.map(([t]) => t), [1000, 1010, 1400, 1500, 9000]);
  assert.match(steps[4][1], /service-forbidden \(by the server\)/);
  assert.equal(timeline({ invitedAt: 5, endedAt: 6, endReason: 1, caller: 'a', callee: 'b' }).length, 2);
  assert.equal(END_REASONS[10], 'answered-elsewhere');
});
