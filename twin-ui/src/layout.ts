/**
 * Where each actor is drawn. Scene axes: x east, y up, z south (three.js is y-up), centred on the
 * city. Assets without a position (analysts' generic graphs) go on one ring per layer; cohorts
 * without a position sit at the centre of their district's assets.
 */
import type { Topology } from './model.ts';

/** The city's centre (metres, the topology's frame) that the scene puts at its origin: the middle of the placed assets. */
export function layoutCentre(t: Topology): [number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < t.assetCount; i++) {
    const x = t.positions[3 * i] ?? null;
    if (x === null) continue;
    const y = t.positions[3 * i + 1] ?? 0;
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  return Number.isFinite(minX) ? [(minX + maxX) / 2, (minY + maxY) / 2] : [0, 0];
}

export function layoutPositions(t: Topology): Float32Array {
  const nA = t.assetCount;
  const n = nA + t.cohortCount;
  const out = new Float32Array(n * 3);
  const px = (i: number): number | null => t.positions[3 * i] ?? null;
  const py = (i: number): number => t.positions[3 * i + 1] ?? 0;
  const pz = (i: number): number => t.positions[3 * i + 2] ?? 0;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < nA; i++) {
    const x = px(i);
    if (x === null) continue;
    const y = py(i);
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const placed = Number.isFinite(minX);
  const [cx, cy] = placed ? [(minX + maxX) / 2, (minY + maxY) / 2] : [0, 0];
  const span = placed ? Math.max(maxX - minX, maxY - minY, 1) : 0;
  const L = t.layers.length;
  const unplaced = new Int32Array(L);
  for (let i = 0; i < nA; i++) if (px(i) === null) unplaced[t.layer[i] ?? 0]! += 1;
  const spacing = 40;
  const ring: number[] = [];
  let r = placed ? span * 0.75 : 0;
  for (let l = 0; l < L; l++) {
    const count = unplaced[l]!;
    if (count > 0) r = Math.max(r + spacing * 4, (count * spacing) / (2 * Math.PI));
    ring.push(r);
  }
  const seen = new Int32Array(L);
  const dSum = new Map<number, [number, number, number]>();
  for (let i = 0; i < nA; i++) {
    let x = px(i);
    let y: number;
    let z = 0;
    if (x !== null) {
      x -= cx;
      y = py(i) - cy;
      z = pz(i);
    } else {
      const l = t.layer[i] ?? 0;
      const k = seen[l]!++;
      const angle = (2 * Math.PI * k) / Math.max(1, unplaced[l]!) + l * 0.3;
      x = Math.cos(angle) * ring[l]!;
      y = Math.sin(angle) * ring[l]!;
    }
    out[i * 3] = x;
    out[i * 3 + 1] = z;
    out[i * 3 + 2] = -y;
    const d = t.district[i] ?? 0;
    const acc = dSum.get(d) ?? [0, 0, 0];
    acc[0] += x;
    acc[1] += y;
    acc[2] += 1;
    dSum.set(d, acc);
  }
  for (let k = 0; k < t.cohortCount; k++) {
    const i = nA + k;
    let x = px(i);
    let y: number;
    if (x !== null) {
      x -= cx;
      y = py(i) - cy;
    } else {
      const acc = dSum.get(t.district[i] ?? 0);
      x = acc && acc[2] > 0 ? acc[0] / acc[2] : 0;
      y = acc && acc[2] > 0 ? acc[1] / acc[2] : 0;
    }
    // Cohorts float above the ground so they read as people, not plant; the two of a district side by side.
    out[i * 3] = x + (k % 2 === 0 ? -25 : 25);
    out[i * 3 + 1] = 80;
    out[i * 3 + 2] = -y;
  }
  return out;
}

/** Bounds of laid-out positions on the ground plane: [minX, minZ, maxX, maxZ]. */
export function bounds(positions: Float32Array): [number, number, number, number] {
  let minX = Infinity;
  let minZ = Infinity;
  let maxX = -Infinity;
  let maxZ = -Infinity;
  for (let i = 0; i < positions.length; i += 3) {
    const x = positions[i]!;
    const z = positions[i + 2]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (z < minZ) minZ = z;
    if (z > maxZ) maxZ = z;
  }
  if (!Number.isFinite(minX)) return [-100, -100, 100, 100];
  return [minX, minZ, maxX, maxZ];
}
