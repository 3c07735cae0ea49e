// Watermark by canvas compositing: every camera frame is drawn on a canvas with the
// watermark image on top, and the canvas becomes the video track that is sent. Chromium
// gets the frames through MediaStreamTrackProcessor (exact frame timing, works in
// background tabs); other browsers through a hidden <video> and a timer.

/**
 * Where the watermark sits (EMWaterMarkOption's startPoint).
 * @readonly
 * @enum {number}
 */
export const WatermarkPoint = Object.freeze({ LeftTop: 0, RightTop: 1, LeftBottom: 2, RightBottom: 3 });

/**
 * @typedef {Object} WatermarkOption
 * @property {CanvasImageSource|string} image the picture (an <img>, ImageBitmap, canvas...) or its URL
 * @property {number} [marginX] horizontal distance from the chosen corner, in video pixels
 * @property {number} [marginY] vertical distance from the chosen corner, in video pixels
 * @property {number} [startPoint] a {@link WatermarkPoint}; default LeftTop
 */

/**
 * Loads option.image when it is a URL.
 * @param {WatermarkOption} option
 * @returns {Promise<CanvasImageSource>}
 */
export async function loadWatermarkImage(option) {
  if (typeof option.image !== 'string') return option.image;
  const img = new Image();
  img.crossOrigin = 'anonymous';
  img.src = option.image;
  await img.decode();
  return img;
}

function place(option, image, w, h) {
  const iw = image.width || image.videoWidth || 0;
  const ih = image.height || image.videoHeight || 0;
  const mx = option.marginX || 0;
  const my = option.marginY || 0;
  const p = option.startPoint || WatermarkPoint.LeftTop;
  const x = p === WatermarkPoint.RightTop || p === WatermarkPoint.RightBottom ? w - iw - mx : mx;
  const y = p === WatermarkPoint.LeftBottom || p === WatermarkPoint.RightBottom ? h - ih - my : my;
  return [x, y];
}

/**
 * A video track with the watermark drawn on each frame of a source track.
 */
export class WatermarkedTrack {
  /**
   * @param {MediaStreamTrack} source the camera (or custom) video track; it is not stopped by stop()
   * @param {WatermarkOption} option
   * @param {CanvasImageSource} image the loaded image
   */
  constructor(source, option, image) {
    this.source = source;
    this._stopped = false;
    const settings = source.getSettings();
    const fps = settings.frameRate || 30;
    if (window.MediaStreamTrackProcessor && window.MediaStreamTrackGenerator && window.OffscreenCanvas) {
      /** @type {MediaStreamTrack} the composited track to send */
      this.track = this._viaProcessor(source, option, image);
    } else {
      this.track = this._viaCanvas(source, option, image, fps);
    }
  }

  _viaProcessor(source, option, image) {
    // Clone: the processor owns the track it reads, and the preview keeps the original.
    const input = source.clone();
    this._input = input;
    const processor = new window.MediaStreamTrackProcessor({ track: input });
    const generator = new window.MediaStreamTrackGenerator({ kind: 'video' });
    let canvas = null;
    let ctx = null;
    const transformer = new TransformStream({
      transform: (frame, controller) => {
        const w = frame.displayWidth;
        const h = frame.displayHeight;
        if (!canvas || canvas.width !== w || canvas.height !== h) {
          canvas = new OffscreenCanvas(w, h);
          ctx = canvas.getContext('2d');
        }
        ctx.drawImage(frame, 0, 0, w, h);
        const [x, y] = place(option, image, w, h);
        ctx.drawImage(image, x, y);
        const out = new VideoFrame(canvas, { timestamp: frame.timestamp, duration: frame.duration || undefined });
        frame.close();
        controller.enqueue(out);
      },
    });
    processor.readable.pipeThrough(transformer).pipeTo(generator.writable).catch(() => { /* stopped */ });
    return generator;
  }

  _viaCanvas(source, option, image, fps) {
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([source]);
    video.play().catch(() => {});
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d');
    const draw = () => {
      if (this._stopped) return;
      const w = video.videoWidth;
      const h = video.videoHeight;
      if (w && h) {
        if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
        ctx.drawImage(video, 0, 0, w, h);
        const [x, y] = place(option, image, w, h);
        ctx.drawImage(image, x, y);
      }
    };
    this._timer = setInterval(draw, 1000 / fps);
    this._video = video;
    return canvas.captureStream(fps).getVideoTracks()[0];
  }

  /** Stops compositing and the composited track (not the source). */
  stop() {
    this._stopped = true;
    clearInterval(this._timer);
    if (this._input) this._input.stop();
    if (this._video) this._video.srcObject = null;
    this.track.stop();
  }
}
