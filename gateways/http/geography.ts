import { lonLatProjector, type Cohort, type Geography } from '../../engine/index.ts';
import type { TopologyGeography } from '../protocol.ts';

/** Packs a city's geography for the topology document: metres in the positions' frame, 0.1 m steps. */
export function topologyGeography(geography: Geography, cohorts: readonly Cohort[], districts: readonly string[]): TopologyGeography {
  const project = lonLatProjector(geography.origin);
  const pack = (shapes: ReadonlyArray<readonly number[]>): { xy: number[]; start: number[] } => {
    const xy: number[] = [];
    const start: number[] = [];
    for (const shape of shapes) {
      start.push(xy.length / 2);
      for (let i = 0; i + 1 < shape.length; i += 2) {
        const [x, y] = project(shape[i]!, shape[i + 1]!);
        xy.push(Math.round(x * 10) / 10, Math.round(y * 10) / 10);
      }
    }
    start.push(xy.length / 2);
    return { xy, start };
  };
  const cohortNumber = new Map(cohorts.map((c, k) => [c.id, k] as const));
  const districtNumber = new Map(districts.map((d, k) => [d, k] as const));
  const streetClasses = [...new Set(geography.streets.map((s) => s.class))].sort();
  const classNumber = new Map(streetClasses.map((c, k) => [c, k] as const));
  const buildings = pack(geography.buildings.map((b) => b.ring));
  const streets = pack(geography.streets.map((s) => s.path));
  const outlines = geography.districts.filter((d) => districtNumber.has(d.id));
  const districtShapes = pack(outlines.map((d) => d.ring));
  const land = geography.areas ?? [];
  const areas = pack(land.map((a) => a.ring));
  return {
    attribution: geography.attribution,
    licence: geography.licence,
    origin: geography.origin,
    buildingXY: buildings.xy,
    buildingStart: buildings.start,
    buildingHeight: geography.buildings.map((b) => b.height),
    buildingCohort: geography.buildings.map((b) => (b.cohort === undefined ? -1 : (cohortNumber.get(b.cohort) ?? -1))),
    streetClasses,
    streetXY: streets.xy,
    streetStart: streets.start,
    streetClass: geography.streets.map((s) => classNumber.get(s.class)!),
    districtXY: districtShapes.xy,
    districtStart: districtShapes.start,
    districtIndex: outlines.map((d) => districtNumber.get(d.id)!),
    districtName: outlines.map((d) => d.name),
    areaXY: areas.xy,
    areaStart: areas.start,
    areaClass: land.map((a) => (a.class === 'water' ? 1 : 0)),
  };
}
