// What the console makes of the quality summaries in call records (docs/REST.md, "Call
// quality"): bands of the audio score, a call's worse party, distributions and filters.
// Pure functions, tested in Node.

/**
 * Bands of the E-model MOS, best first, with the user satisfaction ITU-T G.107 gives for
 * them: good (satisfied, ≥ 4.0), fair (some dissatisfied, ≥ 3.6), poor (many, ≥ 3.1), bad.
 */
export const BANDS = [
  { name: 'good', min: 4.0 },
  { name: 'fair', min: 3.6 },
  { name: 'poor', min: 3.1 },
  { name: 'bad', min: -Infinity },
];

/** The band name of an audio score. */
export function band(mos) {
  return BANDS.find((b) => mos >= b.min).name;
}

/** The summary of the call's party that fared worse (lower mean score), or null when neither reported. */
export function worse(call) {
  const q = call && call.quality;
  if (!q) return null;
  const ps = [q.caller, q.callee].filter((s) => s && s.samples > 0);
  if (!ps.length) return null;
  return ps.reduce((a, b) => (b.mos < a.mos ? b : a));
}

/** A call's band: its worse party's, or 'none' when nobody reported. */
export function callBand(call) {
  const s = worse(call);
  return s ? band(s.mos) : 'none';
}

/**
 * Counts calls by band, for the calls invited since `since` (unix ms).
 * @returns {{good: number, fair: number, poor: number, bad: number, none: number, total: number}}
 */
export function distribution(calls, since) {
  const out = { good: 0, fair: 0, poor: 0, bad: 0, none: 0, total: 0 };
  for (const c of calls) {
    if (c.invitedAt < since) continue;
    out[callBand(c)]++;
    out.total++;
  }
  return out;
}

/**
 * Whether a call passes the records' filters: `quality` a band name, 'lossy' (a party lost
 * 5 % or more of what it received at some point), or '' for any; `reason` an end reason
 * number as a string, or ''.
 */
export function matches(call, { quality = '', reason = '' } = {}) {
  if (reason !== '' && String(call.endReason) !== reason) return false;
  if (!quality) return true;
  if (quality === 'lossy') {
    const q = call.quality;
    return !!q && [q.caller, q.callee].some((s) => s && s.lossInMax >= 0.05);
  }
  return callBand(call) === quality;
}
