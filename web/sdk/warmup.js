// Warm-up video (docs/PROTOCOL.md "Warm-up video"): while a video call rings, a device whose
// peer asked for it sends black frames on its video sender, so that the encoder here and the
// decoder there are running when the call is accepted. Swapping the camera in at accept is
// then a replaceTrack on a live encoder — the first camera frame is a delta frame — instead
// of an encoder start and a keyframe, which cost Chromium 100–200 ms.

/**
 * Frames per second of the black picture: near zero bits either way (a black delta frame is a
 * few dozen bytes); 15 measured a little faster to the first camera frame than 5.
 */
export const WARM_FPS = 15;

/** A black canvas video track sized like the camera it stands in for. */
export class WarmUpTrack {
  /**
   * @param {MediaStreamTrack|null} like the camera track whose size to take (640x480 when unknown)
   */
  constructor(like) {
    const st = like && like.getSettings ? like.getSettings() : {};
    this._canvas = document.createElement('canvas');
    this._canvas.width = st.width || 640;
    this._canvas.height = st.height || 480;
    this._ctx = this._canvas.getContext('2d');
    /** @type {MediaStreamTrack} */
    this.track = this._canvas.captureStream(WARM_FPS).getVideoTracks()[0];
    // A canvas stream emits a frame only when the canvas is painted: paint at WARM_FPS.
    this._paint();
    this._timer = setInterval(() => this._paint(), 1000 / WARM_FPS);
  }

  _paint() {
    this._ctx.fillStyle = '#000';
    this._ctx.fillRect(0, 0, this._canvas.width, this._canvas.height);
  }

  /** Stops painting and ends the track. */
  stop() {
    clearInterval(this._timer);
    this.track.stop();
  }
}
