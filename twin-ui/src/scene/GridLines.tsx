/**
 * The electrical grid over the scene (cities whose power layer is electrical): every branch a bar
 * between its two buses, coloured by its loading (|flow| ÷ rating, the branch's stress in the
 * frames), tripped branches violet; an arrowhead at each branch's middle points the way the power
 * flows (the sign comes from the `/api/grid` poll, net/grid.ts). Two instanced meshes (bars and
 * arrowheads): two draw calls whatever the grid's size. Also flies the camera to a branch asked
 * for by the N-1 panel.
 */
import { useEffect, useMemo, useRef } from 'react';
import { useFrame, useThree } from '@react-three/fiber';
import { useStore } from 'zustand';
import * as THREE from 'three';
import type { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { useTwinStore } from '../context.ts';
import { Status } from '../model.ts';
import type { CityIndexUi } from '../store.ts';
import { gridStore, loadingColour, TRIPPED_COLOUR, type GridBranchUi } from '../net/grid.ts';

/** The scene's orbit controls (set by CityScene's Controls), for flying to a branch. */
export const sceneControls: { current: OrbitControls | null } = { current: null };

const FLY_MS = 700;

function colourOf(b: GridBranchUi, status: number, stress: number, out: Float32Array, o: number): void {
  if (b.tripped || status === Status.Failed || status === Status.Isolated || status === Status.Faulted) {
    out.set(TRIPPED_COLOUR, o);
    return;
  }
  loadingColour(b.ratingMw === null ? null : stress * 100, out, o);
}

export function GridLines({ index, size }: { index: CityIndexUi; size: number }) {
  const store = useTwinStore();
  const version = useStore(gridStore, (s) => s.version);
  const powerLayer = index.layers.indexOf('power');
  const lift = size * 0.9;
  const built = useMemo(() => {
    const branches = gridStore.getState().branches;
    if (branches.length === 0) return null;
    // Each branch a flat bar (an instanced box, one draw call) rather than a 1-pixel line: WebGL
    // lines have no width, and the grid must stand out from the links drawn under it.
    const bar = new THREE.BoxGeometry(1, 1, 1);
    const lines = new THREE.InstancedMesh(bar, new THREE.MeshBasicMaterial({ color: 0xffffff }), branches.length);
    lines.instanceColor = new THREE.InstancedBufferAttribute(new Float32Array(branches.length * 3), 3);
    lines.instanceColor.setUsage(THREE.DynamicDrawUsage);
    const barMatrix = new THREE.Matrix4();
    const barTurn = new THREE.Quaternion();
    const yAxis = new THREE.Vector3(0, 1, 0);
    const middle = new THREE.Vector3();
    const scale = new THREE.Vector3();
    branches.forEach((b, j) => {
      const [a, c] = [b.fromActor, b.toActor];
      const dx = index.positions[3 * c]! - index.positions[3 * a]!;
      const dz = index.positions[3 * c + 2]! - index.positions[3 * a + 2]!;
      middle.set((index.positions[3 * a]! + index.positions[3 * c]!) / 2, (index.positions[3 * a + 1]! + index.positions[3 * c + 1]!) / 2 + lift, (index.positions[3 * a + 2]! + index.positions[3 * c + 2]!) / 2);
      // The box's x axis along the branch (a turn about y), as thick as a fifth of a glyph.
      barTurn.setFromAxisAngle(yAxis, -Math.atan2(dz, dx));
      scale.set(Math.hypot(dx, dz), size * 0.12, size * 0.22);
      lines.setMatrixAt(j, barMatrix.compose(middle, barTurn, scale));
    });
    lines.instanceMatrix.needsUpdate = true;
    lines.name = 'grid:branches';
    lines.frustumCulled = false;
    lines.raycast = () => undefined;
    lines.renderOrder = 2;
    // Arrowheads: cones along +Y, turned onto each branch's flow direction.
    const cone = new THREE.ConeGeometry(size * 0.5, size * 1.5, 10);
    const arrows = new THREE.InstancedMesh(cone, new THREE.MeshBasicMaterial({ color: 0xffffff }), branches.length);
    arrows.name = 'grid:arrows';
    arrows.instanceColor = new THREE.InstancedBufferAttribute(new Float32Array(branches.length * 3), 3);
    arrows.frustumCulled = false;
    arrows.raycast = () => undefined;
    const m = new THREE.Matrix4();
    const q = new THREE.Quaternion();
    const up = new THREE.Vector3(0, 1, 0);
    const dir = new THREE.Vector3();
    const at = new THREE.Vector3();
    const one = new THREE.Vector3(1, 1, 1);
    branches.forEach((b, j) => {
      const [a, c] = b.direction >= 0 ? [b.fromActor, b.toActor] : [b.toActor, b.fromActor];
      dir.set(index.positions[3 * c]! - index.positions[3 * a]!, 0, index.positions[3 * c + 2]! - index.positions[3 * a + 2]!);
      const length = dir.length();
      if (b.direction === 0 || b.tripped || length === 0) {
        m.makeScale(0, 0, 0);
      } else {
        dir.divideScalar(length);
        q.setFromUnitVectors(up, dir);
        at.set(index.positions[3 * a]! + dir.x * length * 0.55, index.positions[3 * a + 1]! + lift, index.positions[3 * a + 2]! + dir.z * length * 0.55);
        m.compose(at, q, one);
      }
      arrows.setMatrixAt(j, m);
    });
    arrows.instanceMatrix.needsUpdate = true;
    return { lines, arrows, branches };
    // `version` changes whenever the poll brought new branches (directions, trips).
  }, [index, size, lift, version]);

  useEffect(() => () => {
    if (built === null) return;
    built.lines.geometry.dispose();
    (built.lines.material as THREE.Material).dispose();
    built.arrows.geometry.dispose();
    (built.arrows.material as THREE.Material).dispose();
  }, [built]);

  const last = useRef({ version: -1, built: null as unknown });
  useFrame(() => {
    if (built === null) return;
    const s = store.getState();
    const visible = powerLayer < 0 || s.layerVisible['power'] !== false;
    built.lines.visible = visible;
    built.arrows.visible = visible;
    const f = s.fast;
    if (f.version === last.current.version && last.current.built === built) return;
    const arr = built.lines.instanceColor!.array as Float32Array;
    const arrowColours = built.arrows.instanceColor!.array as Float32Array;
    built.branches.forEach((b, j) => {
      colourOf(b, f.status[b.actor]!, f.stress[b.actor]!, arr, j * 3);
      arrowColours.set(arr.subarray(j * 3, j * 3 + 3), j * 3);
    });
    built.lines.instanceColor!.needsUpdate = true;
    built.arrows.instanceColor!.needsUpdate = true;
    last.current = { version: f.version, built };
  });

  // Test and support hook: what the GPU was given for a branch.
  useEffect(() => {
    const w = window as unknown as { __twin?: Record<string, unknown> };
    w.__twin = {
      ...(w.__twin ?? {}),
      grid: {
        branches: () => built?.branches.length ?? 0,
        target: (): number[] | null => (sceneControls.current === null ? null : [sceneControls.current.target.x, sceneControls.current.target.z]),
        colourOf: (id: string): number[] | null => {
          const actor = index.indexOf.get(id);
          const j = built?.branches.findIndex((b) => b.actor === actor) ?? -1;
          if (built === null || j < 0) return null;
          return Array.from((built.lines.instanceColor!.array as Float32Array).subarray(j * 3, j * 3 + 3));
        },
      },
    };
  }, [built, index]);

  return built === null ? null : (
    <>
      <primitive object={built.lines} />
      <primitive object={built.arrows} />
      <FlyTo />
    </>
  );
}

/** Moves the orbit target (and the camera with it) to the point the N-1 panel asked for. */
function FlyTo() {
  const { camera, invalidate } = useThree();
  const request = useStore(gridStore, (s) => s.flyTo);
  const motion = useRef<{ from: THREE.Vector3; to: THREE.Vector3; started: number } | null>(null);
  useEffect(() => {
    const controls = sceneControls.current;
    if (request === null || controls === null) return;
    motion.current = { from: controls.target.clone(), to: new THREE.Vector3(request.x, 0, request.z), started: performance.now() };
    invalidate();
  }, [request, invalidate]);
  useFrame(() => {
    const m = motion.current;
    const controls = sceneControls.current;
    if (m === null || controls === null) return;
    const t = Math.min(1, (performance.now() - m.started) / FLY_MS);
    const eased = t * t * (3 - 2 * t);
    const next = m.from.clone().lerp(m.to, eased);
    camera.position.add(next.clone().sub(controls.target));
    controls.target.copy(next);
    if (t >= 1) motion.current = null;
    invalidate();
  });
  return null;
}
