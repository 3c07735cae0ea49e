// Ring tones made with WebAudio (no files): the incoming ring and the outgoing ringback.
let ring = null;

/** Plays a repeating two-tone pattern until stopped: incoming ring or outgoing ringback. */
export function startTone(kind) {
  stopTone();
  let ctx;
  try { ctx = new AudioContext(); } catch { return; }
  const pattern = kind === 'incoming'
    ? { freqs: [660, 880], on: [0, 0.4, 0.6, 1.0], period: 3000, gain: 0.15 }
    : { freqs: [440, 480], on: [0, 1.6], period: 4000, gain: 0.08 };
  const beep = () => {
    const t0 = ctx.currentTime + 0.02;
    const g = ctx.createGain();
    g.gain.value = 0;
    g.connect(ctx.destination);
    for (let i = 0; i < pattern.on.length; i += 2) {
      g.gain.setValueAtTime(0, t0 + pattern.on[i]);
      g.gain.linearRampToValueAtTime(pattern.gain, t0 + pattern.on[i] + 0.02);
      g.gain.setValueAtTime(pattern.gain, t0 + pattern.on[i + 1] - 0.02);
      g.gain.linearRampToValueAtTime(0, t0 + pattern.on[i + 1]);
    }
    const end = t0 + pattern.on[pattern.on.length - 1] + 0.05;
    for (const f of pattern.freqs) {
      const o = ctx.createOscillator();
      o.frequency.value = f;
      o.connect(g);
      o.start(t0);
      o.stop(end);
    }
  };
  ctx.resume().catch(() => {});
  beep();
  const timer = setInterval(beep, pattern.period);
  ring = { stop: () => { clearInterval(timer); ctx.close().catch(() => {}); } };
}

export function stopTone() {
  if (ring) ring.stop();
  ring = null;
}
