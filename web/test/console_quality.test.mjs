// Unit tests of the console's quality bands, distribution and filters, and the users
// page's search cursor. In Node: no browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { band, callBand, distribution, matches, worse } from '../console/quality.js';
import { beforePrefix } from '../console/users.js';

const party = (mos, lossInMax = 0) => ({ samples: 3, mos, lossInMax });

test('bands follow the E-model satisfaction thresholds', () => {
  assert.equal(band(4.4), 'good');
  assert.equal(band(4.0), 'good');
  assert.equal(band(3.7), 'fair');
  assert.equal(band(3.2), 'poor');
  assert.equal(band(1.0), 'bad');
});

test('a call is as good as its worse party; none without reports', () => {
  const c = { quality: { caller: party(4.3), callee: party(3.3, 0.2) } };
  assert.equal(worse(c).mos, 3.3);
  assert.equal(callBand(c), 'poor');
  assert.equal(callBand({}), 'none');
  assert.equal(callBand({ quality: { caller: { samples: 0, mos: 0 } } }), 'none');
  assert.equal(callBand({ quality: { callee: party(4.1) } }), 'good');
});

test('distribution counts the calls of the window by band', () => {
  const calls = [
    { invitedAt: 100, quality: { caller: party(4.3) } },
    { invitedAt: 200, quality: { caller: party(2.0) } },
    { invitedAt: 300 },
    { invitedAt: 50, quality: { caller: party(2.0) } },
  ];
  assert.deepEqual(distribution(calls, 100), { good: 1, fair: 0, poor: 0, bad: 1, none: 1, total: 3 });
});

test('filters by band, by loss and by end reason', () => {
  const lossy = { endReason: 0, quality: { caller: party(4.2), callee: party(3.9, 0.18) } };
  const clean = { endReason: 103, quality: { caller: party(4.4) } };
  assert.ok(matches(lossy, { quality: 'lossy' }));
  assert.ok(!matches(clean, { quality: 'lossy' }));
  assert.ok(matches(lossy, { quality: 'fair' }));
  assert.ok(matches(clean, { reason: '103' }));
  assert.ok(!matches(lossy, { reason: '103' }));
  assert.ok(matches(clean, {}));
  assert.ok(matches({ endReason: 1 }, { quality: 'none' }));
});

test('the search cursor sorts just before every name with the prefix, and is a valid name', () => {
  const names = ['u0', 'u0zz', 'u1', 'u10', 'u1_x', 'u2', 'ua'];
  for (const p of ['u1', 'u', 'ua', 'u0']) {
    const c = beforePrefix(p);
    assert.ok(c.length <= 64 && /^[a-z0-9_.-]*$/.test(c), `cursor ${c}`);
    assert.deepEqual(names.filter((n) => n > c && n.startsWith(p)), names.filter((n) => n.startsWith(p)), p);
    assert.ok(names.filter((n) => n > c).every((n, i, a) => i === 0 || n >= a[i - 1]));
    assert.ok(names.filter((n) => n > c)[0].startsWith(p), `first name after ${c} starts with ${p}`);
  }
  assert.equal(beforePrefix('-'), '');
});
