// Line charts as SVG, with no library: the console draws a party's quality over a call.

/**
 * Scales series of [x, y] points into a width × height box (y grows downwards in SVG) and
 * returns one SVG path per series. All series share the axes; x and y ranges start at the
 * smallest x and at 0.
 */
export function paths(series, width, height, pad = 4) {
  const all = series.flat();
  if (all.length === 0) return { paths: series.map(() => ''), maxY: 0 };
  const minX = Math.min(...all.map((p) => p[0]));
  const maxX = Math.max(...all.map((p) => p[0]));
  const maxY = Math.max(...all.map((p) => p[1])) || 1;
  const sx = (x) => pad + (maxX === minX ? 0 : ((x - minX) / (maxX - minX)) * (width - 2 * pad));
  const sy = (y) => height - pad - (y / maxY) * (height - 2 * pad);
  return {
    maxY,
    paths: series.map((pts) => pts.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ')),
  };
}

const COLORS = ['#1f6feb', '#c4320a', '#12b76a', '#7a5af8'];

/** Returns an element with a chart of named series ({name, points}) and its legend. */
export function lineChart(title, series, unit = '') {
  const W = 600; const H = 160;
  const { paths: ds, maxY } = paths(series.map((s) => s.points), W, H);
  const box = document.createElement('figure');
  box.className = 'chart';
  box.setAttribute('aria-label', title);
  box.dataset.max = String(maxY);
  const svgNS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  ds.forEach((d, i) => {
    const p = document.createElementNS(svgNS, 'path');
    p.setAttribute('d', d);
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', COLORS[i % COLORS.length]);
    p.setAttribute('stroke-width', '2');
    p.setAttribute('vector-effect', 'non-scaling-stroke');
    p.dataset.series = series[i].name;
    // The plotted values, for people's tools and the browser tests: what the line shows.
    p.dataset.values = JSON.stringify(series[i].points.map((pt) => Math.round(pt[1] * 1000) / 1000));
    svg.append(p);
  });
  const cap = document.createElement('figcaption');
  cap.className = 'legend';
  const t = document.createElement('strong');
  t.textContent = `${title} (max ${fmt(maxY)}${unit})`;
  cap.append(t);
  series.forEach((s, i) => {
    const k = document.createElement('span');
    k.style.color = COLORS[i % COLORS.length];
    k.textContent = `● ${s.name}`;
    cap.append(k);
  });
  box.append(cap, svg);
  return box;
}

/** Formats a number for people: about three significant digits, none after the point from 100. */
export function fmt(n) {
  if (!Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  const f = 10 ** digits;
  return String(Math.round(n * f) / f);
}
