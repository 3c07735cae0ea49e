// Enums and errors of the duet protocol, with the seed's (Easemob 1v1 call SDK) numbers.
// They mirror the Go SDK's enums.go and protocol/enums.go; see docs/PROTOCOL.md.

/**
 * Kind of call (EMCallType).
 * @readonly
 * @enum {number}
 */
export const CallType = Object.freeze({ Voice: 0, Video: 1 });

/**
 * A session's status (EMCallSessionStatus). Values only increase during a call; 1 is
 * unused, as in the seed.
 * @readonly
 * @enum {number}
 */
export const CallStatus = Object.freeze({ Disconnected: 0, Connecting: 2, Connected: 3, Accepted: 4 });

/**
 * Why a call ended (EMCallEndReason). AnsweredElsewhere (10) and TokenRevoked (11, a kick
 * reason) are duet's additions.
 * @readonly
 * @enum {number}
 */
export const EndReason = Object.freeze({
  Hangup: 0, NoResponse: 1, Decline: 2, Busy: 3, Failed: 4, Unsupported: 5, RemoteOffline: 6,
  LoginOtherDevice: 7, Destroy: 8, BeenKicked: 9, AnsweredElsewhere: 10, TokenRevoked: 11,
  NotEnable: 101, ServiceArrearages: 102, ServiceForbidden: 103,
});

/**
 * How media flows once connected (EMCallConnectType).
 * @readonly
 * @enum {number}
 */
export const ConnectType = Object.freeze({ None: 0, Direct: 1, Relay: 2 });

/**
 * A pause or resume of one of the peer's streams (EMCallStreamingStatus).
 * @readonly
 * @enum {number}
 */
export const StreamStatus = Object.freeze({ VoicePause: 0, VoiceResume: 1, VideoPause: 2, VideoResume: 3 });

/**
 * A call's network quality (EMCallNetworkStatus); see "Browser network status" in
 * docs/PROTOCOL.md for the thresholds.
 * @readonly
 * @enum {number}
 */
export const NetworkStatus = Object.freeze({ Normal: 0, Unstable: 1, NoData: 2 });

/**
 * State of the device connection (EMConnectionState).
 * @readonly
 * @enum {number}
 */
export const ConnectionState = Object.freeze({ Disconnected: 0, Connected: 1 });

/**
 * Video resolution of the local camera (EMCallVideoResolution). Custom (4) means the app
 * supplies its own video track.
 * @readonly
 * @enum {number}
 */
export const VideoResolution = Object.freeze({ Adaptive: 0, R352x288: 1, R640x480: 2, R1280x720: 3, Custom: 4 });

/**
 * Error codes (EMErrorCode) the SDK reports; the full list is in docs/PROTOCOL.md.
 * @readonly
 * @enum {number}
 */
export const ErrorCode = Object.freeze({
  General: 1, NetworkUnavailable: 2, InvalidAppKey: 100, InvalidUsername: 101, InvalidPassword: 102,
  InvalidToken: 104, UserNotLogin: 201, UserAuthFailed: 202, UserAlreadyExist: 203, UserNotFound: 204,
  UserIllegalArgument: 205, UserRemoved: 207, ServerNotReachable: 300, ServerTimeout: 301, ServerBusy: 302,
  ServerUnknown: 303, CallInvalidId: 800, CallBusy: 801, CallRemoteOffline: 802, CallConnectFailed: 803,
  BadMessage: 900, RateLimited: 902, CallSelf: 905, CallUnsupported: 906, RegistrationClosed: 908,
  ServerShutdown: 910, UpgradeRequired: 911, TooManyAttempts: 912, TooManyDevices: 913, PresenceForbidden: 914, UnsupportedVersion: 903,
});

/**
 * A coded error (EMError): every SDK promise that fails for a reason the seed names
 * rejects with a DuetError carrying the seed's code.
 */
export class DuetError extends Error {
  /**
   * @param {number} code an {@link ErrorCode}
   * @param {string} message what went wrong
   */
  constructor(code, message) {
    super(message);
    /** @type {string} */
    this.name = 'DuetError';
    /** @type {number} the {@link ErrorCode} */
    this.code = code;
  }
}

/**
 * Returns the name of an enum value, e.g. enumName(EndReason, 3) === 'Busy'.
 * @param {Object<string, number>} e one of the enums above
 * @param {number} value
 * @returns {string}
 */
export function enumName(e, value) {
  for (const [k, v] of Object.entries(e)) if (v === value) return k;
  return String(value);
}
