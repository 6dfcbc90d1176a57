import { describe, expect, it } from 'vitest';
import { hashCity, loadCityFile, parseCity, ValidationError } from '../../engine/index.ts';
import { cityDocument } from '../../scenarios/index.ts';
import { topologyGeography } from './geography.ts';
import { BUNDLED_PLACE } from '../cli/index.ts';

describe('the topology geography', () => {
  const city = loadCityFile(BUNDLED_PLACE);
  const districts = [...new Set([...city.assets.map((a) => a.district), ...city.cohorts.map((c) => c.district)])];
  const geo = topologyGeography(city.geography!, city.cohorts, districts);

  it('packs footprints, streets and district outlines consistently, in the assets’ metre frame', () => {
    expect(geo.attribution).toBe('© OpenStreetMap contributors');
    expect(geo.buildingStart.length).toBe(geo.buildingHeight.length + 1);
    expect(geo.buildingStart.at(-1)! * 2).toBe(geo.buildingXY.length);
    expect(geo.streetStart.length).toBe(geo.streetClass.length + 1);
    expect(geo.streetStart.at(-1)! * 2).toBe(geo.streetXY.length);
    expect(geo.districtStart.at(-1)! * 2).toBe(geo.districtXY.length);
    expect(geo.districtName).toContain('Kluuvi');
    // Buildings and assets share one frame: every footprint lies within the assets' extent (plus a street).
    const xs = city.assets.map((a) => a.position!.x);
    const ys = city.assets.map((a) => a.position!.y);
    for (let i = 0; i < geo.buildingXY.length; i += 2) {
      expect(geo.buildingXY[i]!).toBeGreaterThan(Math.min(...xs) - 100);
      expect(geo.buildingXY[i]!).toBeLessThan(Math.max(...xs) + 100);
      expect(geo.buildingXY[i + 1]!).toBeGreaterThan(Math.min(...ys) - 100);
      expect(geo.buildingXY[i + 1]!).toBeLessThan(Math.max(...ys) + 100);
    }
    // Every footprint with residents points at its cohort by number.
    expect(geo.buildingCohort.filter((c) => c >= 0).length).toBe(city.geography!.buildings.filter((b) => b.cohort !== undefined).length);
    expect(Math.max(...geo.buildingCohort)).toBeLessThan(city.cohorts.length);
  });

  it('a footprint naming an unknown cohort is refused with its JSON path', () => {
    const doc = {
      assets: [{ id: 'a', layer: 'power', position: [24.94, 60.17] }],
      geography: { origin: [24.94, 60.17], attribution: '© OpenStreetMap contributors', licence: 'ODbL', source: 't', buildings: [{ ring: [24.94, 60.17, 24.941, 60.17, 24.941, 60.171], height: 10, cohort: 'nobody' }], streets: [], districts: [] },
    };
    expect(() => parseCity(doc, 'bad.json')).toThrow(ValidationError);
    expect(() => parseCity(doc, 'bad.json')).toThrow(/\$\.geography\.buildings\[0\]\.cohort: unknown cohort id "nobody"/);
    const noAttribution = { ...doc, geography: { ...doc.geography, attribution: '', buildings: [] } };
    expect(() => parseCity(noAttribution, 'bad.json')).toThrow(/\$\.geography\.attribution: must credit the data source/);
  });

  it('survives the city document a live recording writes: same hash, same positions, the place kept', () => {
    const rebuilt = parseCity(JSON.parse(JSON.stringify(cityDocument(city))), 'recording');
    expect(hashCity(rebuilt)).toBe(hashCity(city));
    expect(rebuilt.assets[10]!.position).toEqual(city.assets[10]!.position);
    expect(rebuilt.geography?.buildings.length).toBe(city.geography!.buildings.length);
  });

  it('projects [lon, lat] positions to metres about the origin', () => {
    const c = parseCity({ assets: [{ id: 'a', layer: 'x', position: [24.95, 60.18] }], geography: { origin: [24.94, 60.17], attribution: 'x', licence: 'y', source: 'z', buildings: [], streets: [], districts: [] } }, 't');
    // 0.01° of longitude at 60.17° N ≈ 554 m; 0.01° of latitude ≈ 1,113 m.
    expect(c.assets[0]!.position!.x).toBeCloseTo(554.2, 0);
    expect(c.assets[0]!.position!.y).toBeCloseTo(1113.2, 0);
  });
});
