import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { loadCityFile, parseCity } from './validate.ts';

function problemsOf(document: unknown): Array<{ path: string; reason: string }> {
  try {
    parseCity(document, 'city.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return [...(error as ValidationError).problems];
  }
  throw new Error('expected a validation error');
}

describe('city model validation', () => {
  it('lists schema errors and dangling edges together, in one pass', () => {
    const problems = problemsOf({
      assets: [{ id: 'A1', layer: 'A', capacity: -1 }, { id: 'A2', layer: 'A' }, { id: 42, layer: 'A' }],
      links: [{ from: 'A1', to: 'ghost' }, { from: 'A1', to: 'A2', colour: 'red' }],
      dependencies: [{ from: 'nobody', to: 'A2', strength: 2 }],
      cohorts: [{ id: 'c1', district: 'd', population: 10, reliesOn: ['A1', 'missing'] }],
    });
    const paths = problems.map((p) => p.path);
    // Schema problems…
    expect(paths).toContain('$.assets[0].capacity');
    expect(paths).toContain('$.assets[2].id');
    expect(paths).toContain('$.links[1]');
    expect(paths).toContain('$.dependencies[0].strength');
    // …and the dangling references, in the same error.
    expect(problems).toContainEqual({ path: '$.links[0].to', reason: 'unknown asset id "ghost" (dangling edge)' });
    expect(problems).toContainEqual({ path: '$.dependencies[0].from', reason: 'unknown asset id "nobody" (dangling edge)' });
    expect(problems).toContainEqual({ path: '$.cohorts[0].reliesOn[1]', reason: 'unknown asset id "missing" (dangling edge)' });
    // An asset whose other fields are wrong still counts as known: no false "dangling" for A1.
    expect(problems.filter((p) => p.reason.includes('"A1"'))).toEqual([]);
  });

  it('accepts a generic graph with only ids, layers, links and dependencies, filling documented defaults', () => {
    const city = parseCity(
      {
        assets: [{ id: 'A1', layer: 'A' }, { id: 'A2', layer: 'A' }, { id: 'B1', layer: 'B' }],
        links: [{ from: 'A1', to: 'A2' }],
        dependencies: [{ from: 'A1', to: 'B1' }],
      },
      'generic.json',
    );
    expect(city.assets[0]).toMatchObject({ kind: 'node', district: 'default', capacity: Number.POSITIVE_INFINITY, baseLoad: 0, source: false, position: null });
    expect(city.dependencies[0]).toMatchObject({ strength: 1, probability: 1, latencySeconds: 0, kind: 'supply' });
  });

  it('names the JSON path of a duplicate id', () => {
    expect(problemsOf({ assets: [{ id: 'A', layer: 'x' }, { id: 'A', layer: 'x' }] })).toContainEqual({ path: '$.assets[1].id', reason: 'duplicate asset id "A"' });
  });

  it('reports a dangling edge with the unknown id and its path', () => {
    const problems = problemsOf({ assets: [{ id: 'A', layer: 'x' }], links: [{ from: 'A', to: 'Z' }] });
    expect(problems).toContainEqual({ path: '$.links[0].to', reason: 'unknown asset id "Z" (dangling edge)' });
  });

  it('reports values out of range with the field path', () => {
    const problems = problemsOf({
      assets: [{ id: 'A', layer: 'x' }, { id: 'B', layer: 'y' }],
      dependencies: [{ from: 'A', to: 'B', strength: 1.5 }],
    });
    expect(problems[0]?.path).toBe('$.dependencies[0].strength');
    expect(problems[0]?.reason).toMatch(/between 0 and 1/);
  });

  it('rejects links across layers, self loops, unknown fields and capacity below base load', () => {
    const problems = problemsOf({
      assets: [{ id: 'A', layer: 'x', capacity: 1, baseLoad: 2 }, { id: 'B', layer: 'y' }],
      links: [{ from: 'A', to: 'B' }, { from: 'A', to: 'A' }],
    });
    const paths = problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['$.assets[0].capacity', '$.links[0]', '$.links[1]']));
    expect(problemsOf({ assets: [{ id: 'A', layer: 'x', colour: 'red' }] })[0]?.path).toBe('$.assets[0]');
  });

  it('rejects a cohort relying on an unknown asset', () => {
    const problems = problemsOf({
      assets: [{ id: 'A', layer: 'power' }],
      cohorts: [{ id: 'C', district: 'd', population: 10, reliesOn: ['A', 'nope'] }],
    });
    expect(problems).toContainEqual({ path: '$.cohorts[0].reliesOn[1]', reason: 'unknown asset id "nope" (dangling edge)' });
  });

  it('names the file in the error message and reads GeoJSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"assets": [}');
    expect(() => loadCityFile(bad)).toThrow(/bad\.json: \$: not valid JSON/);
    const geo = join(dir, 'city.geojson');
    writeFileSync(
      geo,
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] }, properties: { id: 'P1', layer: 'power' } },
          { type: 'Feature', geometry: { type: 'Point', coordinates: [3, 4] }, properties: { id: 'P2', layer: 'power' } },
          { type: 'Feature', geometry: { type: 'LineString', coordinates: [[1, 2], [3, 4]] }, properties: { from: 'P1', to: 'P2' } },
        ],
      }),
    );
    const city = loadCityFile(geo);
    expect(city.assets[1]?.position).toEqual({ x: 3, y: 4, z: 0 });
    expect(city.links).toHaveLength(1);
  });
});
