/** Plane geometry in local metres for the importer: areas, centroids, nearest points, Voronoi cells. */

/** Shoelace area (m², unsigned) of a ring given as flattened x, y pairs. */
export function ringArea(xy: readonly number[]): number {
  let twice = 0;
  const n = xy.length / 2;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    twice += xy[2 * i]! * xy[2 * j + 1]! - xy[2 * j]! * xy[2 * i + 1]!;
  }
  return Math.abs(twice) / 2;
}

/** Even–odd rule: is (x, y) inside the ring (flattened x, y pairs)? */
export function pointInRing(xy: readonly number[], x: number, y: number): boolean {
  let inside = false;
  const n = xy.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = xy[2 * i]!;
    const yi = xy[2 * i + 1]!;
    const xj = xy[2 * j]!;
    const yj = xy[2 * j + 1]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Mean of a ring's or path's vertices: good enough to place a building's or a site's asset. */
export function vertexMean(xy: readonly number[]): [number, number] {
  let sx = 0;
  let sy = 0;
  const n = xy.length / 2;
  for (let i = 0; i < n; i++) {
    sx += xy[2 * i]!;
    sy += xy[2 * i + 1]!;
  }
  return [sx / n, sy / n];
}

/** The point halfway along a path (by length), where a street segment's asset sits. */
export function midpointAlong(xy: readonly number[]): [number, number] {
  const n = xy.length / 2;
  let total = 0;
  for (let i = 1; i < n; i++) total += Math.hypot(xy[2 * i]! - xy[2 * i - 2]!, xy[2 * i + 1]! - xy[2 * i - 1]!);
  let left = total / 2;
  for (let i = 1; i < n; i++) {
    const dx = xy[2 * i]! - xy[2 * i - 2]!;
    const dy = xy[2 * i + 1]! - xy[2 * i - 1]!;
    const step = Math.hypot(dx, dy);
    if (step >= left && step > 0) return [xy[2 * i - 2]! + (dx * left) / step, xy[2 * i - 1]! + (dy * left) / step];
    left -= step;
  }
  return [xy[0]!, xy[1]!];
}

/**
 * Nearest-point queries over a fixed set of points, bucketed in a square grid so a query looks at a
 * few cells instead of every point (an extract of a whole city has 10⁵ street segments).
 */
export class NearestIndex {
  private readonly cells = new Map<number, number[]>();
  readonly size: number;

  constructor(
    private readonly xs: readonly number[],
    private readonly ys: readonly number[],
    private readonly cell = 200,
  ) {
    this.size = xs.length;
    for (let i = 0; i < xs.length; i++) {
      const key = this.key(Math.floor(xs[i]! / cell), Math.floor(ys[i]! / cell));
      const bucket = this.cells.get(key);
      if (bucket === undefined) this.cells.set(key, [i]);
      else bucket.push(i);
    }
  }

  /** One number per cell (no string garbage): cells within ±2²⁰ of the origin, ~200,000 km at 200 m. */
  private key(cx: number, cy: number): number {
    return (cx + 1_048_576) * 2_097_152 + (cy + 1_048_576);
  }

  /** Index of the point nearest (x, y) that `accept` allows (ties: the lower index), or -1. */
  nearest(x: number, y: number, accept: (i: number) => boolean = () => true): number {
    if (this.size === 0) return -1;
    const cx = Math.floor(x / this.cell);
    const cy = Math.floor(y / this.cell);
    const [minX, minY, maxX, maxY] = this.box;
    // Past this ring the square covers every point: stop even when `accept` refused them all.
    const lastRing = Math.ceil(Math.max(Math.abs(x - minX), Math.abs(x - maxX), Math.abs(y - minY), Math.abs(y - maxY)) / this.cell) + 1;
    let best = -1;
    let bestD = Infinity;
    // Grow the searched square ring by ring; stop once no closer point can lie in the next ring.
    for (let r = 0; r <= lastRing; r++) {
      for (let gx = cx - r; gx <= cx + r; gx++) {
        const edge = gx === cx - r || gx === cx + r;
        for (let gy = cy - r; gy <= cy + r; gy += edge ? 1 : 2 * r) {
          for (const i of this.cells.get(this.key(gx, gy)) ?? []) {
            const d = (this.xs[i]! - x) ** 2 + (this.ys[i]! - y) ** 2;
            if ((d < bestD || (d === bestD && i < best)) && accept(i)) {
              bestD = d;
              best = i;
            }
          }
          if (r === 0) break;
        }
      }
      if (best >= 0 && Math.sqrt(bestD) <= r * this.cell) return best;
    }
    return best;
  }

  private get box(): [number, number, number, number] {
    if (this.bounds === undefined) {
      let minX = Infinity;
      let minY = Infinity;
      let maxX = -Infinity;
      let maxY = -Infinity;
      for (let i = 0; i < this.size; i++) {
        minX = Math.min(minX, this.xs[i]!);
        maxX = Math.max(maxX, this.xs[i]!);
        minY = Math.min(minY, this.ys[i]!);
        maxY = Math.max(maxY, this.ys[i]!);
      }
      this.bounds = [minX, minY, maxX, maxY];
    }
    return this.bounds;
  }

  private bounds: [number, number, number, number] | undefined;
}

/**
 * Voronoi cell of seed `i` inside the rectangle: the rectangle clipped by the half-plane of points
 * nearer seed i than each other seed (Sutherland–Hodgman). Districts have few seeds, so O(n²) is fine.
 */
export function voronoiCell(seeds: ReadonlyArray<readonly [number, number]>, i: number, box: readonly [number, number, number, number]): number[] {
  let poly: Array<[number, number]> = [
    [box[0], box[1]],
    [box[2], box[1]],
    [box[2], box[3]],
    [box[0], box[3]],
  ];
  const [sx, sy] = seeds[i]!;
  seeds.forEach(([ox, oy], j) => {
    if (j === i || poly.length === 0) return;
    // Keep p where (p − m)·(o − s) ≤ 0, m the midpoint of s and o.
    const nx = ox - sx;
    const ny = oy - sy;
    const c = (nx * (sx + ox)) / 2 + (ny * (sy + oy)) / 2;
    const side = (p: [number, number]): number => p[0] * nx + p[1] * ny - c;
    const out: Array<[number, number]> = [];
    for (let k = 0; k < poly.length; k++) {
      const a = poly[k]!;
      const b = poly[(k + 1) % poly.length]!;
      const da = side(a);
      const db = side(b);
      if (da <= 0) out.push(a);
      if ((da < 0 && db > 0) || (da > 0 && db < 0)) {
        const t = da / (da - db);
        out.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]);
      }
    }
    poly = out;
  });
  return poly.flat();
}

/**
 * Joins open ways (node id lists) into closed rings by their end nodes, as multipolygon members
 * are drawn. Returns the closed rings (first node not repeated); chains that never close are dropped.
 */
export function joinRings(parts: ReadonlyArray<readonly number[]>): number[][] {
  const rings: number[][] = [];
  const open = parts.filter((p) => p.length >= 2).map((p) => [...p]);
  while (open.length > 0) {
    const chain = open.pop()!;
    let grown = true;
    while (chain[0] !== chain[chain.length - 1] && grown) {
      grown = false;
      for (let k = 0; k < open.length; k++) {
        const part = open[k]!;
        const end = chain[chain.length - 1]!;
        if (part[0] === end) chain.push(...part.slice(1));
        else if (part[part.length - 1] === end) chain.push(...part.slice(0, -1).reverse());
        else continue;
        open.splice(k, 1);
        grown = true;
        break;
      }
    }
    if (chain.length >= 4 && chain[0] === chain[chain.length - 1]) rings.push(chain.slice(0, -1));
  }
  return rings;
}
