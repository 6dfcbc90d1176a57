import { useEffect, useMemo, useRef } from 'react';
import { useFrame, useThree } from '@react-three/fiber';
import * as THREE from 'three';
import type { CityIndexUi } from '../store.ts';
import { pressureColour, waterView } from '../water.ts';

/**
 * Junction assets of an EPANET water layer drawn as points in pressure colours (the water panel's
 * legend), one draw call, above the asset meshes; shown while the panel's toggle is on. Reads the
 * water store inside `useFrame` and rewrites the buffers only when a new snapshot arrived.
 */
export function WaterPressure({ index }: { index: CityIndexUi }) {
  const invalidate = useThree((t) => t.invalidate);
  const size = useMemo(() => {
    let minX = Infinity;
    let maxX = -Infinity;
    let minZ = Infinity;
    let maxZ = -Infinity;
    for (let a = 0; a < index.actorCount; a++) {
      minX = Math.min(minX, index.positions[3 * a]!);
      maxX = Math.max(maxX, index.positions[3 * a]!);
      minZ = Math.min(minZ, index.positions[3 * a + 2]!);
      maxZ = Math.max(maxZ, index.positions[3 * a + 2]!);
    }
    const span = Math.max(maxX - minX, maxZ - minZ, 1);
    return Math.max(6, Math.min(80, (span / Math.sqrt(Math.max(1, index.actorCount))) * 0.9));
  }, [index]);
  const points = useMemo(() => {
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(new Float32Array(0), 3));
    g.setAttribute('color', new THREE.BufferAttribute(new Float32Array(0), 3));
    const p = new THREE.Points(g, new THREE.PointsMaterial({ size, vertexColors: true, sizeAttenuation: true, depthTest: false, transparent: true, opacity: 0.95 }));
    p.frustumCulled = false;
    p.raycast = () => undefined;
    p.renderOrder = 10;
    p.name = 'water:pressure';
    return p;
  }, [size]);
  useEffect(() => () => {
    points.geometry.dispose();
    (points.material as THREE.Material).dispose();
  }, [points]);
  useEffect(() => waterView.subscribe(() => invalidate()), [invalidate]);
  const last = useRef(-1);
  useFrame(() => {
    const view = waterView.getState();
    points.visible = view.pressureColours && view.now?.hydraulic === true;
    if (!points.visible || view.version === last.current) return;
    last.current = view.version;
    const ids = view.now?.junctions?.ids ?? [];
    const pressures = view.now?.junctions?.pressureM ?? [];
    const pos = new Float32Array(ids.length * 3);
    const col = new Float32Array(ids.length * 3);
    let n = 0;
    for (let j = 0; j < ids.length; j++) {
      const a = index.indexOf.get(ids[j]!);
      if (a === undefined) continue;
      pos[3 * n] = index.positions[3 * a]!;
      pos[3 * n + 1] = index.positions[3 * a + 1]! + size;
      pos[3 * n + 2] = index.positions[3 * a + 2]!;
      pressureColour(pressures[j]!, col, 3 * n);
      n++;
    }
    points.geometry.setAttribute('position', new THREE.BufferAttribute(pos.subarray(0, 3 * n), 3));
    points.geometry.setAttribute('color', new THREE.BufferAttribute(col.subarray(0, 3 * n), 3));
    points.userData['junctions'] = n;
  });
  return <primitive object={points} />;
}
