/**
 * One shape per asset kind, so the operator tells a substation from a tower at a glance. Kinds are
 * matched by name (any layer may bring its own kinds); unknown kinds get an octahedron. Shapes are
 * low-poly on purpose: 100,000 instances must stay cheap even on software WebGL.
 */
import * as THREE from 'three';

export interface Shape {
  readonly name: string;
  readonly geometry: () => THREE.BufferGeometry;
  /** Size relative to the city's base size. */
  readonly scale: number;
}

const RULES: readonly [RegExp, Shape][] = [
  [/cohort/, { name: 'person', geometry: () => new THREE.OctahedronGeometry(0.7), scale: 1.4 }],
  [/generator|plant|treatment|works/, { name: 'cylinder', geometry: () => new THREE.CylinderGeometry(0.6, 0.6, 1.4, 6).translate(0, 0.7, 0), scale: 2.2 }],
  [/substation|transformer/, { name: 'box', geometry: () => new THREE.BoxGeometry(1, 0.8, 1).translate(0, 0.4, 0), scale: 1.4 }],
  [/feeder|line|main|cable|pipe|fibre/, { name: 'slab', geometry: () => new THREE.BoxGeometry(0.7, 0.25, 0.7).translate(0, 0.125, 0), scale: 0.9 }],
  [/pump|reservoir|tank/, { name: 'drum', geometry: () => new THREE.CylinderGeometry(0.5, 0.5, 0.7, 6).translate(0, 0.35, 0), scale: 1.3 }],
  [/tower|antenna|mast/, { name: 'cone', geometry: () => new THREE.ConeGeometry(0.45, 1.6, 4).translate(0, 0.8, 0), scale: 1.3 }],
  [/router|switch|scada|data|control/, { name: 'octahedron', geometry: () => new THREE.OctahedronGeometry(0.6).translate(0, 0.6, 0), scale: 1.6 }],
  [/hospital|clinic/, { name: 'cross', geometry: () => crossGeometry(), scale: 2.4 }],
  [/road|bridge|rail|street/, { name: 'tile', geometry: () => new THREE.BoxGeometry(1, 0.08, 1).translate(0, 0.04, 0), scale: 0.8 }],
  [/fire|police|ambulance|station|emergency/, { name: 'tetrahedron', geometry: () => new THREE.TetrahedronGeometry(0.7).translate(0, 0.6, 0), scale: 1.8 }],
  [/shelter|school|hall/, { name: 'dodecahedron', geometry: () => new THREE.BoxGeometry(1, 0.6, 0.6).translate(0, 0.3, 0), scale: 1.6 }],
];

const DEFAULT: Shape = { name: 'sphere', geometry: () => new THREE.OctahedronGeometry(0.55).translate(0, 0.55, 0), scale: 1 };

export function shapeOf(kind: string): Shape {
  const k = kind.toLowerCase();
  for (const [re, shape] of RULES) if (re.test(k)) return shape;
  return DEFAULT;
}

function crossGeometry(): THREE.BufferGeometry {
  const a = new THREE.BoxGeometry(1.2, 0.45, 0.4).translate(0, 0.6, 0);
  const b = new THREE.BoxGeometry(0.4, 0.45, 1.2).translate(0, 0.6, 0);
  const c = new THREE.BoxGeometry(0.4, 1.2, 0.4).translate(0, 0.6, 0);
  const merged = new THREE.BufferGeometry();
  const parts = [a, b, c].map((g) => g.toNonIndexed());
  const count = parts.reduce((n, g) => n + g.getAttribute('position').count, 0);
  const pos = new Float32Array(count * 3);
  const nor = new Float32Array(count * 3);
  let o = 0;
  for (const g of parts) {
    pos.set(g.getAttribute('position').array as Float32Array, o);
    nor.set(g.getAttribute('normal').array as Float32Array, o);
    o += g.getAttribute('position').count * 3;
  }
  merged.setAttribute('position', new THREE.BufferAttribute(pos, 3));
  merged.setAttribute('normal', new THREE.BufferAttribute(nor, 3));
  return merged;
}
