// The words the demo shows for how calls ended, from this user's point of view.
import { CallType, EndReason, enumName } from '/sdk/duet.js';

/** The words for how a call ended, from this user's point of view. */
export function endMessage(s, reason, error, mine = false) {
  const peer = s.remoteName;
  const accepted = s.acceptedAt > 0;
  switch (reason) {
    case EndReason.Hangup:
      if (accepted) return ['Call ended', mine ? 'You hung up' : `${peer} hung up`];
      if (s.isCaller) return ['Call cancelled', mine ? 'You cancelled the call' : 'The call was cancelled'];
      return ['Missed call', `${peer} cancelled the call`];
    case EndReason.NoResponse:
      return s.isCaller ? ['No answer', `${peer} did not answer`] : ['Missed call', `You missed a call from ${peer}`];
    case EndReason.Decline:
      return s.isCaller ? ['Call declined', `${peer} declined the call`] : ['Call declined', mine ? 'You declined the call' : `${peer} declined`];
    case EndReason.Busy:
      return ['Busy', s.isCaller ? `${peer} is in another call` : 'You were busy'];
    case EndReason.Failed:
      return ['Call failed', error ? `Connection problem: ${error.message}` : 'The connection was lost'];
    case EndReason.Unsupported:
      return ['Not supported', `${peer}'s devices cannot take ${s.type === CallType.Video ? 'video' : 'this'} call`];
    case EndReason.RemoteOffline:
      return ['Offline', `${peer} is offline`];
    case EndReason.LoginOtherDevice:
      return ['Signed out', 'You logged in on another device'];
    case EndReason.Destroy:
      return ['Account removed', 'This account was deleted'];
    case EndReason.BeenKicked:
      return ['Signed out', 'The server signed you out'];
    case EndReason.AnsweredElsewhere:
      return ['Answered elsewhere', 'You answered on another device'];
    default:
      return ['Call ended', `Reason ${enumName(EndReason, reason)}`];
  }
}

/** A one- or two-word end reason for the history list. */
export function shortReason(reason, outgoing) {
  const words = {
    [EndReason.Hangup]: outgoing ? 'Cancelled' : 'Missed', [EndReason.NoResponse]: outgoing ? 'No answer' : 'Missed',
    [EndReason.Decline]: 'Declined', [EndReason.Busy]: 'Busy', [EndReason.Failed]: 'Failed',
    [EndReason.Unsupported]: 'Unsupported', [EndReason.RemoteOffline]: 'Offline', [EndReason.AnsweredElsewhere]: 'Answered elsewhere',
  };
  return words[reason] || enumName(EndReason, reason);
}

/** Formats a duration in ms as mm:ss or h:mm:ss. */
export function fmtDuration(ms) {
  const t = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(t / 3600);
  const mm = String(Math.floor((t % 3600) / 60)).padStart(2, '0');
  const ss = String(t % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}
