/**
 * The real place behind an imported city: extruded building footprints (one merged mesh, one draw
 * call), streets and tracks (one line set), district outlines, and the map furniture an operator
 * expects — scale bar, north arrow, district names, the data's attribution. Buildings whose people
 * lack power or water are shaded, so an outage reads as an area, not as a dot.
 */
import { useEffect, useMemo, useRef } from 'react';
import { useFrame, useThree } from '@react-three/fiber';
import * as THREE from 'three';
import { mergeGeometries } from 'three/examples/jsm/utils/BufferGeometryUtils.js';
import { useTwin, useTwinStore } from '../context.ts';
import { notServing, row, type CityIndexUi } from '../store.ts';
import type { TopologyGeography } from '../model.ts';
import './place.css';

/** Building colours (linear RGB 0..1, as three lights them): normal, crisis-dimmed, and the outages. */
export const BUILDING_COLOURS = {
  normal: [0.74, 0.76, 0.8],
  crisis: [0.08, 0.09, 0.11],
  noPower: [1, 0.06, 0.03],
  noWater: [0.02, 0.25, 1],
  noBoth: [0.5, 0.05, 1],
} as const;

/** Street classes by how bright they are drawn (major roads first). */
const STREET_STYLE: ReadonlyArray<[RegExp, [number, number, number]]> = [
  [/^(motorway|trunk|primary|secondary)(_link)?$/, [0.92, 0.94, 0.97]],
  [/^(tertiary|tertiary_link|unclassified|residential|living_street|service|road|busway)$/, [0.55, 0.62, 0.7]],
  [/^tram$/, [0.35, 0.85, 0.55]],
  [/^(rail|light_rail|narrow_gauge|subway)$/, [0.75, 0.55, 1]],
];
const MINOR_STREET: [number, number, number] = [0.3, 0.36, 0.44];
const TRACK_CLASSES = /^(tram|rail|light_rail|narrow_gauge|subway)$/;

/** Scene coordinates of point k of a packed shape set. */
function scenePoint(index: CityIndexUi, xy: readonly number[], k: number): [number, number] {
  return [xy[2 * k]! - index.centre[0], -(xy[2 * k + 1]! - index.centre[1])];
}

/** Points start…end−1 of a packed shape set as a three Shape in (x, north); rotated −90° about x it lies on the ground. */
function groundShape(index: CityIndexUi, xy: readonly number[], start: number, end: number): THREE.Shape {
  const shape = new THREE.Shape();
  for (let k = start; k < end; k++) {
    const [x, z] = scenePoint(index, xy, k);
    if (k === start) shape.moveTo(x, -z);
    else shape.lineTo(x, -z);
  }
  return shape;
}

function Buildings({ index, geo }: { index: CityIndexUi; geo: TopologyGeography }) {
  const store = useTwinStore();
  const built = useMemo(() => {
    const parts: THREE.BufferGeometry[] = [];
    const owner: number[] = [];
    const n = geo.buildingHeight.length;
    for (let b = 0; b < n; b++) {
      const start = geo.buildingStart[b]!;
      const end = geo.buildingStart[b + 1]!;
      if (end - start < 3) continue;
      // The extrusion runs along the shape's +z and is turned to point up.
      const g = new THREE.ExtrudeGeometry(groundShape(index, geo.buildingXY, start, end), { depth: Math.max(3, geo.buildingHeight[b]!), bevelEnabled: false }).rotateX(-Math.PI / 2);
      g.deleteAttribute('uv');
      parts.push(g);
      owner.push(b);
    }
    if (parts.length === 0) return null;
    const counts = parts.map((g) => g.getAttribute('position').count);
    const merged = mergeGeometries(parts.map((g) => (g.index === null ? g : g.toNonIndexed())), false);
    parts.forEach((g) => g.dispose());
    if (merged === null) return null;
    const colours = new THREE.BufferAttribute(new Float32Array(merged.getAttribute('position').count * 3), 3).setUsage(THREE.DynamicDrawUsage);
    merged.setAttribute('color', colours);
    /** Per building: its first vertex and vertex count in the merged mesh, and its cohort. */
    const first = new Int32Array(owner.length);
    let at = 0;
    counts.forEach((c, j) => {
      first[j] = at;
      at += c;
    });
    const mesh = new THREE.Mesh(merged, new THREE.MeshLambertMaterial({ vertexColors: true }));
    mesh.name = 'place:buildings';
    mesh.raycast = () => undefined;
    return { mesh, first, count: Int32Array.from(counts), cohort: Int32Array.from(owner.map((b) => geo.buildingCohort[b] ?? -1)) };
  }, [index, geo]);
  useEffect(() => () => {
    built?.mesh.geometry.dispose();
    (built?.mesh.material as THREE.Material | undefined)?.dispose();
  }, [built]);

  const last = useRef({ version: -1, crisis: false });
  useFrame(() => {
    if (built === null) return;
    const s = store.getState();
    const f = s.fast;
    if (f.version === last.current.version && s.crisis === last.current.crisis) return;
    // Per cohort: 1 = no power, 2 = no water (bit flags), from the assets it relies on.
    const outage = new Uint8Array(index.cohortCount);
    for (let k = 0; k < index.cohortCount; k++) {
      for (const a of row(index.reliesOn, k)) {
        if (!notServing(f, a)) continue;
        const layer = index.layers[index.layerOf[a]!];
        if (layer === 'power') outage[k]! |= 1;
        else if (layer === 'water') outage[k]! |= 2;
      }
    }
    const arr = built.mesh.geometry.getAttribute('color').array as Float32Array;
    const calm = s.crisis ? BUILDING_COLOURS.crisis : BUILDING_COLOURS.normal;
    for (let j = 0; j < built.first.length; j++) {
      const c = built.cohort[j]!;
      const o = c < 0 ? 0 : outage[c]!;
      const [r, g, b] = o === 3 ? BUILDING_COLOURS.noBoth : o === 1 ? BUILDING_COLOURS.noPower : o === 2 ? BUILDING_COLOURS.noWater : calm;
      for (let v = built.first[j]!, end = v + built.count[j]!; v < end; v++) {
        arr[3 * v] = r;
        arr[3 * v + 1] = g;
        arr[3 * v + 2] = b;
      }
    }
    built.mesh.geometry.getAttribute('color').needsUpdate = true;
    last.current = { version: f.version, crisis: s.crisis };
  });
  return built === null ? null : <primitive object={built.mesh} />;
}

function Streets({ index, geo }: { index: CityIndexUi; geo: TopologyGeography }) {
  const lines = useMemo(() => {
    const pos: number[] = [];
    const col: number[] = [];
    const styles = geo.streetClasses.map((c) => STREET_STYLE.find(([re]) => re.test(c))?.[1] ?? MINOR_STREET);
    for (let s = 0; s < geo.streetClass.length; s++) {
      const cls = geo.streetClass[s]!;
      const [r, g, b] = styles[cls]!;
      // Tracks sit a little above the roads they run in, so a tram line reads over its street.
      const y = TRACK_CLASSES.test(geo.streetClasses[cls]!) ? 0.6 : 0.3;
      for (let k = geo.streetStart[s]!; k + 1 < geo.streetStart[s + 1]!; k++) {
        const [x0, z0] = scenePoint(index, geo.streetXY, k);
        const [x1, z1] = scenePoint(index, geo.streetXY, k + 1);
        pos.push(x0, y, z0, x1, y, z1);
        col.push(r, g, b, r, g, b);
      }
    }
    const geometry = new THREE.BufferGeometry();
    geometry.setAttribute('position', new THREE.Float32BufferAttribute(pos, 3));
    geometry.setAttribute('color', new THREE.Float32BufferAttribute(col, 3));
    const l = new THREE.LineSegments(geometry, new THREE.LineBasicMaterial({ vertexColors: true, transparent: true, opacity: 0.85 }));
    l.name = 'place:streets';
    l.raycast = () => undefined;
    return l;
  }, [index, geo]);
  useEffect(() => () => {
    lines.geometry.dispose();
    (lines.material as THREE.Material).dispose();
  }, [lines]);
  return <primitive object={lines} />;
}

/** Parks and water on the ground: one flat mesh per class (two draw calls at most). */
function LandAreas({ index, geo }: { index: CityIndexUi; geo: TopologyGeography }) {
  const meshes = useMemo(() => {
    const out: THREE.Mesh[] = [];
    ([[0, 0x1f4a2e, 0.15], [1, 0x173a5c, 0.1]] as const).forEach(([cls, colour, y]) => {
      const parts: THREE.BufferGeometry[] = [];
      for (let a = 0; a < geo.areaClass.length; a++) {
        if (geo.areaClass[a] !== cls) continue;
        const start = geo.areaStart[a]!;
        const end = geo.areaStart[a + 1]!;
        if (end - start < 3) continue;
        const g = new THREE.ShapeGeometry(groundShape(index, geo.areaXY, start, end)).rotateX(-Math.PI / 2);
        g.deleteAttribute('uv');
        parts.push(g.index === null ? g : g.toNonIndexed());
        g.dispose();
      }
      if (parts.length === 0) return;
      const merged = mergeGeometries(parts, false);
      parts.forEach((g) => g.dispose());
      if (merged === null) return;
      const mesh = new THREE.Mesh(merged, new THREE.MeshBasicMaterial({ color: colour, side: THREE.DoubleSide }));
      mesh.position.y = y;
      mesh.name = cls === 0 ? 'place:green' : 'place:water';
      mesh.raycast = () => undefined;
      out.push(mesh);
    });
    return out;
  }, [index, geo]);
  useEffect(() => () => meshes.forEach((m) => {
    m.geometry.dispose();
    (m.material as THREE.Material).dispose();
  }), [meshes]);
  return (
    <>
      {meshes.map((m) => (
        <primitive key={m.uuid} object={m} />
      ))}
    </>
  );
}

function DistrictOutlines({ index, geo }: { index: CityIndexUi; geo: TopologyGeography }) {
  const show = useTwin((s) => s.showDistricts);
  const lines = useMemo(() => {
    const pos: number[] = [];
    for (let d = 0; d < geo.districtIndex.length; d++) {
      const start = geo.districtStart[d]!;
      const end = geo.districtStart[d + 1]!;
      for (let k = start; k < end; k++) {
        const [x0, z0] = scenePoint(index, geo.districtXY, k);
        const [x1, z1] = scenePoint(index, geo.districtXY, k + 1 < end ? k + 1 : start);
        pos.push(x0, 1, z0, x1, 1, z1);
      }
    }
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.Float32BufferAttribute(pos, 3));
    const l = new THREE.LineSegments(g, new THREE.LineDashedMaterial({ color: 0x7f93ad, dashSize: 24, gapSize: 14 }));
    l.computeLineDistances();
    l.name = 'place:districts';
    l.raycast = () => undefined;
    return l;
  }, [index, geo]);
  useEffect(() => () => lines.geometry.dispose(), [lines]);
  lines.visible = show;
  return <primitive object={lines} />;
}

/** DOM nodes of the map furniture, written from `useFrame` (no React render per camera move). */
export interface FurnitureRefs {
  scaleBar: HTMLDivElement | null;
  scaleLabel: HTMLSpanElement | null;
  north: HTMLDivElement | null;
  labels: HTMLDivElement | null;
}

const NICE_METRES = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];

/** Inside the canvas: keeps the scale bar, north arrow and district names true to the camera. */
function Furniture({ index, geo, refs }: { index: CityIndexUi; geo: TopologyGeography; refs: FurnitureRefs }) {
  const { camera, size } = useThree();
  const show = useTwin((s) => s.showDistricts);
  const centres = useMemo(
    () =>
      geo.districtIndex.map((_, d) => {
        let sx = 0;
        let sz = 0;
        const start = geo.districtStart[d]!;
        const end = geo.districtStart[d + 1]!;
        for (let k = start; k < end; k++) {
          const [x, z] = scenePoint(index, geo.districtXY, k);
          sx += x;
          sz += z;
        }
        return new THREE.Vector3(sx / (end - start), 0, sz / (end - start));
      }),
    [index, geo],
  );
  const tmp = useMemo(() => ({ a: new THREE.Vector3(), b: new THREE.Vector3(), ray: new THREE.Raycaster(), plane: new THREE.Plane(new THREE.Vector3(0, 1, 0), 0) }), []);
  const toScreen = (v: THREE.Vector3): [number, number, boolean] => {
    const p = v.clone().project(camera);
    return [((p.x + 1) / 2) * size.width, ((1 - p.y) / 2) * size.height, p.z < 1];
  };
  useFrame(() => {
    // The ground point under the screen centre: scale and north are measured there.
    tmp.ray.setFromCamera(new THREE.Vector2(0, 0), camera);
    const target = tmp.ray.ray.intersectPlane(tmp.plane, tmp.a);
    if (target !== null) {
      const [x0, y0] = toScreen(target);
      const [x1, y1] = toScreen(tmp.b.copy(target).add(new THREE.Vector3(100, 0, 0)));
      const pxPer100 = Math.hypot(x1 - x0, y1 - y0);
      if (pxPer100 > 0 && refs.scaleBar !== null && refs.scaleLabel !== null) {
        const metresPerPx = 100 / pxPer100;
        const metres = NICE_METRES.find((m) => m / metresPerPx >= 60) ?? NICE_METRES[NICE_METRES.length - 1]!;
        refs.scaleBar.style.width = `${Math.round(metres / metresPerPx)}px`;
        refs.scaleLabel.textContent = metres >= 1000 ? `${metres / 1000} km` : `${metres} m`;
      }
      const [nx, ny] = toScreen(tmp.b.copy(target).add(new THREE.Vector3(0, 0, -100)));
      if (refs.north !== null) refs.north.style.transform = `rotate(${(Math.atan2(nx - x0, -(ny - y0)) * 180) / Math.PI}deg)`;
    }
    const labels = refs.labels?.children;
    if (labels === undefined) return;
    centres.forEach((c, d) => {
      const el = labels[d] as HTMLElement | undefined;
      if (el === undefined) return;
      const [x, y, front] = toScreen(c);
      el.style.display = show && front ? '' : 'none';
      el.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px) translate(-50%, -50%)`;
    });
  });
  return null;
}

/** The place's 3D parts (inside the canvas). */
export function PlaceLayers({ index, refs }: { index: CityIndexUi; refs: FurnitureRefs }) {
  const geo = index.geography;
  if (geo === null) return null;
  return (
    <>
      <LandAreas index={index} geo={geo} />
      <Streets index={index} geo={geo} />
      <Buildings index={index} geo={geo} />
      <DistrictOutlines index={index} geo={geo} />
      <Furniture index={index} geo={geo} refs={refs} />
    </>
  );
}

/** The place's 2D overlay (outside the canvas): scale bar, north arrow, district names, legend, attribution. */
export function PlaceOverlay({ index, refs }: { index: CityIndexUi; refs: FurnitureRefs }) {
  const geo = index.geography;
  if (geo === null) return null;
  const swatch = (c: readonly [number, number, number]): string => new THREE.Color().setRGB(c[0], c[1], c[2], THREE.LinearSRGBColorSpace).getStyle();
  return (
    <>
      <div className="place-labels" aria-hidden="true" ref={(el) => void (refs.labels = el)}>
        {geo.districtName.map((name, d) => (
          <div key={d} className="place-label">
            {name}
          </div>
        ))}
      </div>
      <div className="place-furniture" data-testid="place-furniture">
        <div className="north-arrow" ref={(el) => void (refs.north = el)} role="img" aria-label="north arrow" title="North">
          <span>N</span>▲
        </div>
        <div className="scale-bar" role="img" aria-label="scale bar">
          <div className="scale-bar-line" ref={(el) => void (refs.scaleBar = el)} />
          <span ref={(el) => void (refs.scaleLabel = el)}>100 m</span>
        </div>
        <div className="outage-legend" aria-label="building shading">
          <span>
            <i style={{ background: swatch(BUILDING_COLOURS.noPower) }} /> no power
          </span>
          <span>
            <i style={{ background: swatch(BUILDING_COLOURS.noWater) }} /> no water
          </span>
          <span>
            <i style={{ background: swatch(BUILDING_COLOURS.noBoth) }} /> neither
          </span>
        </div>
      </div>
      <div className="attribution" data-testid="attribution" title={geo.licence}>
        Map data {geo.attribution}, <abbr title={geo.licence}>ODbL</abbr>
      </div>
    </>
  );
}

/** Refs shared by the overlay and the in-canvas updater. */
export function useFurnitureRefs(): FurnitureRefs {
  return useRef<FurnitureRefs>({ scaleBar: null, scaleLabel: null, north: null, labels: null }).current;
}
