/**
 * The 3D twin. React renders this tree once per city (and per toggle); live state reaches the GPU
 * through `useFrame` callbacks that read `store.getState().fast` and rewrite instance colour and
 * line colour buffers only when `fast.version` (or a display toggle) changed.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { Canvas, useFrame, useThree } from '@react-three/fiber';
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { useTwin, useTwinStore } from '../context.ts';
import { actorColour, layerColour } from '../colors.ts';
import { bounds } from '../layout.ts';
import { isOut, row, type CityIndexUi, type TwinState } from '../store.ts';
import { Status, STATUS_NAMES } from '../model.ts';
import { shapeOf } from './shapes.ts';
import { pickActor, screenOf } from './picking.ts';
import { PlaceLayers, PlaceOverlay, useFurnitureRefs } from './Place.tsx';
import { WaterPressure } from './WaterPressure.tsx';
import { GridLines, sceneControls } from './GridLines.tsx';

/** `?aa=0` turns antialiasing off, `?preserve=1` keeps the drawing buffer (pixel reads in tests). */
const params = new URLSearchParams(window.location.search);
/**
 * The scene renders on demand (a new frame, a toggle, a camera move, a running animation) so an
 * idle twin on an eight-hour shift costs no GPU; bench mode renders continuously to measure frame time.
 */
const GL_FLAGS = {
  antialias: params.get('aa') !== '0',
  preserve: params.get('preserve') === '1',
  frameloop: /(?:^#|&)bench=/.test(window.location.hash) || params.get('frameloop') === 'always' ? ('always' as const) : ('demand' as const),
};

/** Base size of an asset glyph in metres, from the city's density. */
function baseSize(index: CityIndexUi): number {
  const [minX, minZ, maxX, maxZ] = bounds(index.positions);
  const span = Math.max(maxX - minX, maxZ - minZ, 1);
  return Math.max(4, Math.min(60, (span / Math.sqrt(Math.max(1, index.actorCount))) * 0.45));
}

function displayKey(s: TwinState): string {
  return `${s.crisis ? 1 : 0}${s.heatmap ? 1 : 0}|${Object.entries(s.layerVisible)
    .map(([k, v]) => (v ? k : ''))
    .join(',')}`;
}

function isVisible(index: CityIndexUi, layerVisible: Readonly<Record<string, boolean>>, i: number): boolean {
  const l = index.layerOf[i]!;
  if (l < 0) return layerVisible['cohorts'] !== false;
  return layerVisible[index.layers[l]!] !== false;
}

// ---------------------------------------------------------------------------------------------

function AssetMeshes({ index }: { index: CityIndexUi }) {
  const store = useTwinStore();
  const size = useMemo(() => baseSize(index), [index]);
  const meshes = useMemo(() => {
    const members: number[][] = index.kinds.map(() => []);
    for (let i = 0; i < index.actorCount; i++) members[index.kindOf[i]!]!.push(i);
    const out: { mesh: THREE.InstancedMesh; actors: Int32Array; scale: number; kind: string }[] = [];
    members.forEach((list, k) => {
      if (list.length === 0) return;
      const kind = index.kinds[k]!;
      const shape = shapeOf(kind);
      const material = new THREE.MeshLambertMaterial({ color: 0xffffff });
      const mesh = new THREE.InstancedMesh(shape.geometry(), material, list.length);
      mesh.name = `kind:${kind}`;
      mesh.instanceColor = new THREE.InstancedBufferAttribute(new Float32Array(list.length * 3), 3);
      mesh.instanceColor.setUsage(THREE.DynamicDrawUsage);
      // Picking is screen-space (picking.ts); three's per-instance raycast and culling are not needed.
      mesh.frustumCulled = false;
      mesh.raycast = () => undefined;
      // Over a real street map the streets are drawn as lines: their segment glyphs stay small.
      const onMap = index.geography !== null && index.layers[index.layerOf[list[0]!]!] === 'transport' ? 0.35 : 1;
      out.push({ mesh, actors: Int32Array.from(list), scale: shape.scale * size * onMap, kind });
    });
    return out;
  }, [index, size]);

  useEffect(() => () => meshes.forEach(({ mesh }) => {
    mesh.geometry.dispose();
    (mesh.material as THREE.Material).dispose();
  }), [meshes]);

  const last = useRef({ version: -1, key: '', matrixKey: '' });
  const tmp = useMemo(() => new THREE.Matrix4(), []);
  const lod = useContextLod();
  useFrame(() => {
    const s = store.getState();
    const f = s.fast;
    const show = !lod.points;
    for (const { mesh } of meshes) mesh.visible = show;
    if (!show) return;
    const key = displayKey(s);
    const matrixKey = key.split('|')[1] ?? '';
    if (matrixKey !== last.current.matrixKey) {
      for (const { mesh, actors, scale } of meshes) {
        for (let j = 0; j < actors.length; j++) {
          const a = actors[j]!;
          const sc = isVisible(index, s.layerVisible, a) ? scale : 0;
          tmp.makeScale(sc, sc, sc).setPosition(index.positions[3 * a]!, index.positions[3 * a + 1]!, index.positions[3 * a + 2]!);
          mesh.setMatrixAt(j, tmp);
        }
        mesh.instanceMatrix.needsUpdate = true;
      }
      last.current.matrixKey = matrixKey;
    }
    if (f.version === last.current.version && key === last.current.key) return;
    for (const { mesh, actors } of meshes) {
      const colours = mesh.instanceColor!.array as Float32Array;
      for (let j = 0; j < actors.length; j++) {
        const a = actors[j]!;
        actorColour(f.status[a]!, f.stress[a]!, s.heatmap, s.crisis, colours, j * 3);
      }
      mesh.instanceColor!.needsUpdate = true;
    }
    last.current.version = f.version;
    last.current.key = key;
  });

  return (
    <>
      {meshes.map(({ mesh }) => (
        <primitive key={mesh.uuid} object={mesh} />
      ))}
    </>
  );
}

// ---------------------------------------------------------------------------------------------

/**
 * Level of detail for big cities: beyond `POINTS_DISTANCE` × the city's span (or always above
 * `POINTS_ALWAYS` actors when `?lod=points`), every actor is one point of one draw call instead of an
 * instanced shape. At that distance shapes are a pixel or two anyway, and 100,000 points cost a
 * fraction of 100,000 meshes (which matters most on software WebGL).
 */
const POINTS_MIN_ACTORS = 30_000;
const POINTS_DISTANCE = 0.5;
const lodState = { points: false };
function useContextLod(): { points: boolean } {
  return lodState;
}

function LodSwitch({ index }: { index: CityIndexUi }) {
  const { camera, invalidate } = useThree();
  const span = useMemo(() => {
    const [minX, minZ, maxX, maxZ] = bounds(index.positions);
    return Math.max(maxX - minX, maxZ - minZ, 1);
  }, [index]);
  const forced = params.get('lod');
  useFrame(() => {
    let points = index.actorCount >= POINTS_MIN_ACTORS;
    if (forced === 'points') points = true;
    else if (forced === 'meshes') points = false;
    else if (points) {
      // Distance from the camera to the ground point it looks at is a good proxy for zoom.
      points = camera.position.y > span * POINTS_DISTANCE;
    }
    if (points !== lodState.points) {
      lodState.points = points;
      invalidate();
    }
  }, -1);
  return null;
}

function AssetPoints({ index }: { index: CityIndexUi }) {
  const store = useTwinStore();
  const size = useMemo(() => baseSize(index), [index]);
  const points = useMemo(() => {
    const g = new THREE.BufferGeometry();
    const pos = new Float32Array(index.positions.length);
    for (let i = 0; i < index.actorCount; i++) {
      pos[3 * i] = index.positions[3 * i]!;
      pos[3 * i + 1] = index.positions[3 * i + 1]! + size * 0.5;
      pos[3 * i + 2] = index.positions[3 * i + 2]!;
    }
    g.setAttribute('position', new THREE.BufferAttribute(pos, 3));
    g.setAttribute('color', new THREE.BufferAttribute(new Float32Array(index.actorCount * 3), 3).setUsage(THREE.DynamicDrawUsage));
    const p = new THREE.Points(g, new THREE.PointsMaterial({ size: size * 1.6, vertexColors: true, sizeAttenuation: true }));
    p.frustumCulled = false;
    p.raycast = () => undefined;
    p.name = 'lod:points';
    return p;
  }, [index, size]);
  useEffect(() => () => {
    points.geometry.dispose();
    (points.material as THREE.Material).dispose();
  }, [points]);
  const last = useRef({ version: -1, key: '' });
  useFrame(() => {
    points.visible = lodState.points;
    if (!points.visible) {
      last.current.version = -1;
      return;
    }
    const s = store.getState();
    const f = s.fast;
    const key = displayKey(s);
    if (f.version === last.current.version && key === last.current.key) return;
    const col = points.geometry.getAttribute('color') as THREE.BufferAttribute;
    const arr = col.array as Float32Array;
    for (let a = 0; a < index.actorCount; a++) {
      if (isVisible(index, s.layerVisible, a)) actorColour(f.status[a]!, f.stress[a]!, s.heatmap, s.crisis, arr, a * 3);
      else arr[a * 3] = arr[a * 3 + 1] = arr[a * 3 + 2] = 0.04;
    }
    col.needsUpdate = true;
    last.current.version = f.version;
    last.current.key = key;
  });
  return <primitive object={points} />;
}

// ---------------------------------------------------------------------------------------------

interface EdgeSet {
  readonly lines: THREE.LineSegments;
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly base: readonly [number, number, number];
  readonly layer: string;
  readonly type: 'link' | 'dependency';
}

function makeEdges(index: CityIndexUi, from: Int32Array, to: Int32Array, edgeLayer: Int32Array, type: 'link' | 'dependency', lift: number): EdgeSet[] {
  const sets: EdgeSet[] = [];
  index.layers.forEach((layer, l) => {
    // Over a real street map the streets themselves show the transport links.
    if (index.geography !== null && layer === 'transport' && type === 'link') return;
    const ids: number[] = [];
    for (let e = 0; e < from.length; e++) if (edgeLayer[e] === l) ids.push(e);
    if (ids.length === 0) return;
    const f = new Int32Array(ids.length);
    const t = new Int32Array(ids.length);
    const pos = new Float32Array(ids.length * 6);
    ids.forEach((e, j) => {
      const a = from[e]!;
      const b = to[e]!;
      f[j] = a;
      t[j] = b;
      pos.set([index.positions[3 * a]!, index.positions[3 * a + 1]! + lift, index.positions[3 * a + 2]!, index.positions[3 * b]!, index.positions[3 * b + 1]! + lift, index.positions[3 * b + 2]!], j * 6);
    });
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(pos, 3));
    const col = new THREE.BufferAttribute(new Float32Array(ids.length * 6), 3);
    col.setUsage(THREE.DynamicDrawUsage);
    g.setAttribute('color', col);
    const m = new THREE.LineBasicMaterial({ vertexColors: true, transparent: true, opacity: type === 'link' ? 0.55 : 0.35, depthWrite: false });
    const lines = new THREE.LineSegments(g, m);
    lines.frustumCulled = false;
    lines.raycast = () => undefined;
    lines.name = `${type}:${layer}`;
    sets.push({ lines, from: f, to: t, base: layerColour(layer, l), layer, type });
  });
  return sets;
}

function Edges({ index }: { index: CityIndexUi }) {
  const store = useTwinStore();
  const showLinks = useTwin((s) => s.showLinks);
  const showDeps = useTwin((s) => s.showDependencies);
  const layerVisible = useTwin((s) => s.layerVisible);
  const sets = useMemo(
    () => [...makeEdges(index, index.linkFrom, index.linkTo, index.linkLayer, 'link', 1), ...makeEdges(index, index.depFrom, index.depTo, index.depLayer, 'dependency', 6)],
    [index],
  );
  useEffect(() => () => sets.forEach(({ lines }) => {
    lines.geometry.dispose();
    (lines.material as THREE.Material).dispose();
  }), [sets]);
  const last = useRef({ version: -1, key: '' });
  useFrame(() => {
    const s = store.getState();
    const f = s.fast;
    const key = `${s.crisis ? 1 : 0}${s.showLinks ? 1 : 0}${s.showDependencies ? 1 : 0}`;
    if (f.version === last.current.version && key === last.current.key) return;
    const dim = s.crisis ? 0.15 : 0.5;
    for (const set of sets) {
      if (!set.lines.visible) continue;
      const col = set.lines.geometry.getAttribute('color') as THREE.BufferAttribute;
      const arr = col.array as Float32Array;
      const [r, g, b] = set.base;
      for (let j = 0; j < set.from.length; j++) {
        const sa = f.status[set.from[j]!]!;
        const sb = f.status[set.to[j]!]!;
        let cr = r * dim;
        let cg = g * dim;
        let cb = b * dim;
        if (isOut(sa) || isOut(sb)) {
          cr = 1;
          cg = 0.2;
          cb = 0.2;
        } else if (sa === Status.Degraded || sb === Status.Degraded) {
          cr = 1;
          cg = 0.7;
          cb = 0.15;
        }
        arr[j * 6] = arr[j * 6 + 3] = cr;
        arr[j * 6 + 1] = arr[j * 6 + 4] = cg;
        arr[j * 6 + 2] = arr[j * 6 + 5] = cb;
      }
      col.needsUpdate = true;
    }
    last.current.version = f.version;
    last.current.key = key;
  });
  return (
    <>
      {sets.map((set) => {
        const on = (set.type === 'link' ? showLinks : showDeps) && layerVisible[set.layer] !== false;
        set.lines.visible = on;
        if (on) last.current.version = -1;
        return <primitive key={set.lines.uuid} object={set.lines} />;
      })}
    </>
  );
}

// ---------------------------------------------------------------------------------------------

const PULSE_MS = 2500;
const MAX_PULSE_SEGMENTS = 4096;

/** Failures animate along the edges that caused them; the explain chain of the selection glows white. */
function Cascades({ index }: { index: CityIndexUi }) {
  const store = useTwinStore();
  const lines = useMemo(() => {
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(new Float32Array(MAX_PULSE_SEGMENTS * 6), 3).setUsage(THREE.DynamicDrawUsage));
    g.setAttribute('color', new THREE.BufferAttribute(new Float32Array(MAX_PULSE_SEGMENTS * 6), 3).setUsage(THREE.DynamicDrawUsage));
    g.setDrawRange(0, 0);
    const l = new THREE.LineSegments(g, new THREE.LineBasicMaterial({ vertexColors: true, transparent: true, blending: THREE.AdditiveBlending, depthWrite: false }));
    l.frustumCulled = false;
    l.raycast = () => undefined;
    l.renderOrder = 2;
    return l;
  }, []);
  useEffect(() => () => {
    lines.geometry.dispose();
    (lines.material as THREE.Material).dispose();
  }, [lines]);
  const invalidate = useThree((t) => t.invalidate);
  useFrame(() => {
    const s = store.getState();
    const f = s.fast;
    const now = performance.now();
    if (f.pulses.length > 0 || s.chain.length > 1 || s.preview.length > 0 || s.selected !== null) invalidate();
    while (f.pulses.length > 0 && now - f.pulses[0]!.wall > PULSE_MS) f.pulses.shift();
    const pos = lines.geometry.getAttribute('position') as THREE.BufferAttribute;
    const col = lines.geometry.getAttribute('color') as THREE.BufferAttribute;
    const P = pos.array as Float32Array;
    const C = col.array as Float32Array;
    const p = index.positions;
    let n = 0;
    const seg = (a: number, b: number, t: number, r: number, g: number, bl: number): void => {
      if (n >= MAX_PULSE_SEGMENTS) return;
      const o = n * 6;
      P[o] = p[3 * a]!;
      P[o + 1] = p[3 * a + 1]! + 10;
      P[o + 2] = p[3 * a + 2]!;
      P[o + 3] = p[3 * a]! + (p[3 * b]! - p[3 * a]!) * t;
      P[o + 4] = p[3 * a + 1]! + 10 + (p[3 * b + 1]! - p[3 * a + 1]!) * t;
      P[o + 5] = p[3 * a + 2]! + (p[3 * b + 2]! - p[3 * a + 2]!) * t;
      C[o] = C[o + 3] = r;
      C[o + 1] = C[o + 4] = g;
      C[o + 2] = C[o + 5] = bl;
      n++;
    };
    for (const pulse of f.pulses) {
      const age = (now - pulse.wall) / PULSE_MS;
      const t = Math.min(1, age * 2.5);
      const fade = 1 - age;
      if (pulse.from >= 0) seg(pulse.from, pulse.to, t, fade, 0.35 * fade, 0.1 * fade);
      else for (const pr of row(index.providers, pulse.to)) if (isOut(f.status[pr]!)) seg(pr, pulse.to, t, fade, 0.35 * fade, 0.1 * fade);
    }
    const chain = s.chain;
    const glow = 0.75 + 0.25 * Math.sin(now / 200);
    for (let i = 0; i + 1 < chain.length; i++) seg(chain[i + 1]!, chain[i]!, 1, glow, glow, glow);
    // Preview pins: a vertical cyan line over each actor an event being placed would hit.
    const pin = baseSize(index) * 6;
    for (const a of s.preview) {
      if (n >= MAX_PULSE_SEGMENTS) break;
      const o = n * 6;
      P[o] = P[o + 3] = p[3 * a]!;
      P[o + 1] = p[3 * a + 1]!;
      P[o + 4] = p[3 * a + 1]! + pin;
      P[o + 2] = P[o + 5] = p[3 * a + 2]!;
      C[o] = C[o + 3] = 0.2 * glow;
      C[o + 1] = C[o + 4] = 0.9 * glow;
      C[o + 2] = C[o + 5] = 1 * glow;
      n++;
    }
    lines.geometry.setDrawRange(0, n * 2);
    pos.needsUpdate = n > 0;
    col.needsUpdate = n > 0;
  });
  return <primitive object={lines} />;
}

// ---------------------------------------------------------------------------------------------

function Districts({ index }: { index: CityIndexUi }) {
  const show = useTwin((s) => s.showDistricts);
  const lines = useMemo(() => {
    const D = index.districts.length;
    const box = new Float32Array(D * 4).fill(NaN);
    for (let i = 0; i < index.assetCount; i++) {
      const d = index.districtOf[i]!;
      const x = index.positions[3 * i]!;
      const z = index.positions[3 * i + 2]!;
      const o = d * 4;
      if (Number.isNaN(box[o]!)) box.set([x, z, x, z], o);
      else {
        box[o] = Math.min(box[o]!, x);
        box[o + 1] = Math.min(box[o + 1]!, z);
        box[o + 2] = Math.max(box[o + 2]!, x);
        box[o + 3] = Math.max(box[o + 3]!, z);
      }
    }
    const pos: number[] = [];
    for (let d = 0; d < D; d++) {
      const [x0, z0, x1, z1] = [box[d * 4]!, box[d * 4 + 1]!, box[d * 4 + 2]!, box[d * 4 + 3]!];
      if (Number.isNaN(x0)) continue;
      const y = 0.5;
      pos.push(x0, y, z0, x1, y, z0, x1, y, z0, x1, y, z1, x1, y, z1, x0, y, z1, x0, y, z1, x0, y, z0);
    }
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.Float32BufferAttribute(pos, 3));
    const l = new THREE.LineSegments(g, new THREE.LineDashedMaterial({ color: 0x5b6b80, dashSize: 30, gapSize: 20 }));
    l.computeLineDistances();
    l.raycast = () => undefined;
    return l;
  }, [index]);
  useEffect(() => () => lines.geometry.dispose(), [lines]);
  lines.visible = show;
  return <primitive object={lines} />;
}

function Ground({ index }: { index: CityIndexUi }) {
  const [minX, minZ, maxX, maxZ] = useMemo(() => bounds(index.positions), [index]);
  const w = (maxX - minX) * 1.2 + 200;
  const h = (maxZ - minZ) * 1.2 + 200;
  return (
    <mesh rotation-x={-Math.PI / 2} position={[(minX + maxX) / 2, -0.5, (minZ + maxZ) / 2]} raycast={() => undefined}>
      <planeGeometry args={[w, h]} />
      <meshBasicMaterial color="#0f1722" />
    </mesh>
  );
}

function SelectionMarker({ index }: { index: CityIndexUi }) {
  const store = useTwinStore();
  const ref = useRef<THREE.Mesh>(null);
  const size = useMemo(() => baseSize(index), [index]);
  useFrame(() => {
    const m = ref.current;
    if (!m) return;
    const sel = store.getState().selected;
    m.visible = sel !== null;
    if (sel === null) return;
    const s = size * (3 + 0.4 * Math.sin(performance.now() / 250));
    m.position.set(index.positions[3 * sel]!, index.positions[3 * sel + 1]! + 1, index.positions[3 * sel + 2]!);
    m.scale.set(s, s, s);
  });
  return (
    <mesh ref={ref} rotation-x={-Math.PI / 2} raycast={() => undefined}>
      <ringGeometry args={[0.8, 1, 32]} />
      <meshBasicMaterial color="#ffffff" transparent opacity={0.9} depthTest={false} />
    </mesh>
  );
}

// ---------------------------------------------------------------------------------------------

/** Orbit (left drag), pan (right drag or arrow keys), zoom (wheel); frames the city when it changes. */
function Controls({ index }: { index: CityIndexUi }) {
  const { camera, gl, invalidate } = useThree();
  const controls = useMemo(() => {
    const c = new OrbitControls(camera, gl.domElement);
    c.addEventListener('change', () => invalidate());
    c.enableDamping = true;
    c.dampingFactor = 0.12;
    c.screenSpacePanning = false;
    c.maxPolarAngle = Math.PI * 0.49;
    c.keyPanSpeed = 40;
    c.listenToKeyEvents(gl.domElement);
    sceneControls.current = c;
    return c;
  }, [camera, gl, invalidate]);
  useEffect(() => () => controls.dispose(), [controls]);
  useEffect(() => {
    const [minX, minZ, maxX, maxZ] = bounds(index.positions);
    const span = Math.max(maxX - minX, maxZ - minZ, 100);
    const cx = (minX + maxX) / 2;
    const cz = (minZ + maxZ) / 2;
    const cam = camera as THREE.PerspectiveCamera;
    cam.near = Math.max(1, span / 2000);
    cam.far = span * 10;
    // A real place reads best from a lower, oblique angle (its buildings stand up); a graph from above.
    const [up, back] = index.geography === null ? [0.85, 0.55] : [0.48, 0.62];
    cam.position.set(cx, span * up, cz + span * back);
    cam.updateProjectionMatrix();
    controls.target.set(cx, 0, cz);
    controls.maxDistance = span * 4;
    controls.update();
  }, [index, camera, controls]);
  useFrame(() => {
    // update() reports whether damping still moves the camera: keep rendering until it settles.
    if (controls.update()) invalidate();
  });
  return null;
}

// ---------------------------------------------------------------------------------------------

interface Hover {
  readonly actor: number;
  readonly x: number;
  readonly y: number;
}

/** Click to select, hover for a tooltip; exposes a small test hook on `window.__twin`. */
function Interaction({ index, onHover }: { index: CityIndexUi; onHover: (h: Hover | null) => void }) {
  const store = useTwinStore();
  const { camera, gl, size } = useThree();
  useEffect(() => {
    const el = gl.domElement;
    let down: { x: number; y: number } | null = null;
    let lastMove = 0;
    const visible = (i: number): boolean => isVisible(index, store.getState().layerVisible, i);
    const local = (e: PointerEvent): { x: number; y: number } => {
      const r = el.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    };
    const onDown = (e: PointerEvent): void => {
      down = { x: e.clientX, y: e.clientY };
    };
    const onUp = (e: PointerEvent): void => {
      if (!down || Math.hypot(e.clientX - down.x, e.clientY - down.y) > 5 || e.button !== 0) return;
      down = null;
      const p = local(e);
      const hit = pickActor(index.positions, visible, camera, size.width, size.height, p.x, p.y);
      store.select(hit);
    };
    const onMove = (e: PointerEvent): void => {
      const now = performance.now();
      if (now - lastMove < 80 || e.buttons !== 0) return;
      lastMove = now;
      const p = local(e);
      const hit = pickActor(index.positions, visible, camera, size.width, size.height, p.x, p.y, 10);
      onHover(hit === null ? null : { actor: hit, x: p.x, y: p.y });
    };
    const onLeave = (): void => onHover(null);
    el.addEventListener('pointerdown', onDown);
    el.addEventListener('pointerup', onUp);
    el.addEventListener('pointermove', onMove);
    el.addEventListener('pointerleave', onLeave);
    const w = window as unknown as { __twin?: Record<string, unknown> };
    w.__twin = {
      ...(w.__twin ?? {}),
      store,
      screenOf: (id: string) => {
        const a = index.indexOf.get(id);
        return a === undefined ? null : screenOf(index.positions, a, camera, size.width, size.height);
      },
    };
    return () => {
      el.removeEventListener('pointerdown', onDown);
      el.removeEventListener('pointerup', onUp);
      el.removeEventListener('pointermove', onMove);
      el.removeEventListener('pointerleave', onLeave);
    };
  }, [index, camera, gl, size, store, onHover]);
  return null;
}

/** Requests a render whenever the live columns or the slow state change (render-on-demand). */
function Invalidator() {
  const store = useTwinStore();
  const invalidate = useThree((t) => t.invalidate);
  useEffect(() => {
    const a = store.onFast(() => invalidate());
    const b = store.subscribe(() => invalidate());
    // The stats below are written from useFrame; a slow heartbeat keeps them fresh when idle.
    const id = setInterval(() => invalidate(), 1000);
    return () => {
      a();
      b();
      clearInterval(id);
    };
  }, [store, invalidate]);
  return null;
}

/** Writes render facts onto the scene element (for tests, the bench and curious operators). */
function Stats({ host, instances }: { host: HTMLElement | null; instances: number }) {
  const { gl } = useThree();
  const store = useTwinStore();
  const last = useRef(0);
  useFrame(() => {
    const now = performance.now();
    if (!host || now - last.current < 200) return;
    last.current = now;
    host.dataset['instances'] = String(instances);
    host.dataset['drawCalls'] = String(gl.info.render.calls);
    host.dataset['frame'] = String(store.getState().fast.frame);
    host.dataset['applied'] = String(store.getState().fast.applied);
    host.dataset['lod'] = lodState.points ? 'points' : 'meshes';
    host.dataset['version'] = String(store.getState().fast.version);
  });
  return null;
}

export function CityScene() {
  const index = useTwin((s) => s.index);
  const [host, setHost] = useState<HTMLDivElement | null>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  const furniture = useFurnitureRefs();
  return (
    <div className="scene" ref={setHost} data-testid="scene" data-instances="0" aria-label="3D city view: drag to orbit, right-drag or arrow keys to pan, wheel to zoom, click an asset to inspect it" role="application" tabIndex={0}>
      <Canvas
        camera={{ fov: 45, position: [0, 1000, 1000] }}
        gl={{ antialias: GL_FLAGS.antialias, preserveDrawingBuffer: GL_FLAGS.preserve, powerPreference: 'high-performance' }}
        dpr={[1, 2]}
        frameloop={GL_FLAGS.frameloop}
        onCreated={({ gl }) => gl.setClearColor('#0a0f16')}
      >
        <ambientLight intensity={0.9} />
        <directionalLight position={[1, 2, 1.5]} intensity={1.6} />
        {index && (
          <>
            <Ground index={index} />
            {index.geography === null ? <Districts index={index} /> : <PlaceLayers index={index} refs={furniture} />}
            <Edges index={index} />
            <GridLines index={index} size={baseSize(index)} />
            <LodSwitch index={index} />
            <AssetMeshes index={index} />
            <AssetPoints index={index} />
            <WaterPressure index={index} />
            <Cascades index={index} />
            <SelectionMarker index={index} />
            <Controls index={index} />
            <Interaction index={index} onHover={setHover} />
            <Stats host={host} instances={index.actorCount} />
            <Invalidator />
          </>
        )}
      </Canvas>
      {index && <PlaceOverlay index={index} refs={furniture} />}
      {hover && index && <HoverTip index={index} hover={hover} />}
    </div>
  );
}

function HoverTip({ index, hover }: { index: CityIndexUi; hover: Hover }) {
  const store = useTwinStore();
  const f = store.getState().fast;
  const a = hover.actor;
  const layer = index.layerOf[a]! >= 0 ? index.layers[index.layerOf[a]!] : 'cohort';
  return (
    <div className="hover-tip" role="tooltip" style={{ left: hover.x + 14, top: hover.y + 14 }}>
      <strong>{index.ids[a]}</strong>
      <span>
        {index.kinds[index.kindOf[a]!]} · {layer} · {index.districts[index.districtOf[a]!]}
      </span>
      <span>
        {STATUS_NAMES[f.status[a]!]} · stress {(f.stress[a]! * 100).toFixed(0)}%
      </span>
    </div>
  );
}
