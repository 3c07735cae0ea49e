// What the console shows of call records: names for the seed's numbers, and a call's steps.

/** The seed's end reasons, by number (docs/PROTOCOL.md). */
export const END_REASONS = {
  0: 'hangup', 1: 'no-response', 2: 'decline', 3: 'busy', 4: 'failed', 5: 'unsupported', 6: 'remote-offline',
  7: 'login-other-device', 8: 'destroy', 9: 'been-kicked', 10: 'answered-elsewhere', 101: 'not-enable',
  102: 'service-arrearages', 103: 'service-forbidden',
};

/** How a call connected, by number. */
export const CONNECT = { 0: 'none', 1: 'direct', 2: 'relay' };

/** The call's steps from its record ([unix ms, what]), in time order; steps that did not happen are left out. */
export function timeline(c) {
  const steps = [
    [c.invitedAt, `${c.caller} (${c.callerDevice}) invited ${c.callee}`],
    [c.ringingAt, 'a device of the callee rang'],
    [c.connectedAt, `transport up (${CONNECT[c.connectType] || 'unknown'})`],
    [c.acceptedAt, `${c.callee} answered on ${c.calleeDevice}`],
    [c.endedAt, `ended: ${END_REASONS[c.endReason] || c.endReason}${c.endedBy ? ` by ${c.endedBy}` : ' (by the server)'}`],
  ];
  return steps.filter(([t]) => t > 0).sort((a, b) => a[0] - b[0]);
}
