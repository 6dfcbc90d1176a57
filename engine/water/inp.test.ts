import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { loadCityFile, parseCity } from '../model/validate.ts';
import { epanetCityDocument } from './city.ts';
import { parseInp } from './inp.ts';
import { M3S_PER_FLOW_UNIT } from './units.ts';

const NET1 = 'engine/water/networks/Net1.inp';
const NET3 = 'engine/water/networks/Net3.inp';

function problemsOf(text: string): { path: string; reason: string }[] {
  try {
    parseInp(text, 'bad.inp');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain('bad.inp');
    return [...(error as ValidationError).problems];
  }
  throw new Error('expected a validation error');
}

const TINY = ['[RESERVOIRS]', ' R 100', '[JUNCTIONS]', ' J 10 5', '[PIPES]', ' P R J 100 200 120', '[OPTIONS]', ' Units LPS', '[END]'];

describe('EPANET .inp reading', () => {
  it('reads Net3 with every element and converts US units to SI', () => {
    const net = parseInp(readFileSync(NET3, 'utf8'), NET3);
    const count = (type: string): number => net.nodes.filter((n) => n.type === type).length + net.links.filter((l) => l.type === type).length;
    expect([count('junction'), count('reservoir'), count('tank'), count('pipe'), count('pump'), count('valve')]).toEqual([92, 2, 3, 117, 2, 0]);
    expect(net.units.flow).toBe('GPM');
    // Pipe 60: River → 60, 1231 ft, 24 in.
    const pipe = net.links.find((l) => l.id === '60')!;
    expect(pipe.pipe!.lengthM).toBeCloseTo(1231 * 0.3048, 9);
    expect(pipe.pipe!.diameterM).toBeCloseTo(24 * 0.0254, 9);
    // Junction 101: 42 ft, 189.95 GPM, no pattern given: the default pattern "1" (EPANET's rule).
    const j = net.nodes.find((n) => n.id === '101')!;
    expect(j.elevationM).toBeCloseTo(42 * 0.3048, 9);
    expect(j.demands[0]!.m3s).toBeCloseTo(189.95 * M3S_PER_FLOW_UNIT.GPM, 12);
    expect(j.demands[0]!.pattern).toBe('1');
    expect(net.nodes.find((n) => n.id === '1')!.tank!.maxLevelM).toBeCloseTo(32.1 * 0.3048, 9);
    expect(net.patterns.get('1')).toHaveLength(24);
  });

  it('gives the city model every element as a water asset with its .inp id, and pipes as assets between their end nodes', () => {
    const city = loadCityFile(NET3);
    expect(city.assets).toHaveLength(92 + 2 + 3 + 117 + 2);
    expect(city.assets.every((a) => a.layer === 'water')).toBe(true);
    const pump = city.assets.find((a) => a.id === '335')!;
    expect(pump).toMatchObject({ kind: 'pump', props: { epanetId: '335', epanetType: 'pump', fromNode: '60', toNode: '61', headCurve: '2' } });
    expect(city.links).toContainEqual({ from: '60', to: '335', kind: 'pump' });
    expect(city.links).toContainEqual({ from: '335', to: '61', kind: 'pump' });
    expect(city.assets.find((a) => a.id === 'River')).toMatchObject({ kind: 'reservoir', source: true });
    expect(city.assets.find((a) => a.id === '1')).toMatchObject({ kind: 'tank', source: true });
    expect(city.assets.find((a) => a.id === '101')!.position).toMatchObject({ z: expect.closeTo(42 * 0.3048, 9) });
  });

  it('renames a link whose id is also a node id to <type>:<id> and keeps the .inp id in props (Net1 has node 10 and pipe 10)', () => {
    const document = epanetCityDocument(readFileSync(NET1, 'utf8'), NET1);
    const city = parseCity(document, NET1);
    expect(city.assets.find((a) => a.id === '10')!.kind).toBe('junction');
    expect(city.assets.find((a) => a.id === 'pipe:10')!.props).toMatchObject({ epanetId: '10', fromNode: '10', toNode: '11' });
    expect(city.assets.find((a) => a.id === 'pump:9')!.props).toMatchObject({ epanetId: '9', fromNode: '9', toNode: '10' });
    expect(city.assets.find((a) => a.id === '110')!.kind).toBe('pipe');
  });

  it('reads SI files without conversion and lets [DEMANDS] replace a junction demand', () => {
    const net = parseInp([...TINY, '[DEMANDS]', ' J 2 D1', ' J 3', '[PATTERNS]', ' D1 1 2'].join('\n'), 'tiny.inp');
    const junction = net.nodes.find((n) => n.id === 'J')!;
    expect(junction.demands).toEqual([{ m3s: 0.002, pattern: 'D1' }, { m3s: 0.003, pattern: null }]);
    expect(net.links[0]!.pipe!.diameterM).toBeCloseTo(0.2, 12);
  });

  it('names the file and line of each bad entry', () => {
    expect(problemsOf(['[JUNCTIONS]', ' J1 high', '[RESERVOIRS]', ' R 100'].join('\n'))).toContainEqual({ path: 'line 2', reason: 'elevation must be a number (got "high")' });
    expect(problemsOf([...TINY.slice(0, 5), ' P R X 100 200 120'].join('\n'))).toContainEqual({ path: 'line 6', reason: 'pipe "P" names node "X", which is not declared' });
    expect(problemsOf([...TINY, '[PIPES]', ' P R J 1 1 1'].join('\n'))).toContainEqual({ path: 'line 11', reason: 'duplicate link id "P" (first declared as a pipe on line 6)' });
    expect(problemsOf(['[RESERVOIRS]', ' R 1', '[JUNCTIONS]', ' J 1', '[PIPES]', ' P R J 0 10 100'].join('\n'))).toContainEqual({ path: 'line 6', reason: 'length must be > 0 (got 0)' });
    expect(problemsOf(['[NOPE]', ' x'].join('\n'))).toContainEqual({ path: 'line 1', reason: 'unknown section [NOPE]' });
    expect(problemsOf('{"assets": []}')[0]).toEqual({ path: 'line 1', reason: 'data before the first [SECTION] header (is this an EPANET .inp file?)' });
    expect(problemsOf([...TINY, '[OPTIONS]', ' Units furlongs'].join('\n'))).toContainEqual({ path: 'line 11', reason: expect.stringMatching(/^Units must be one of CFS, GPM/) });
    expect(problemsOf([...TINY, '[PUMPS]', ' PU J R HEAD C9'].join('\n'))).toContainEqual({ path: 'line 11', reason: 'pump "PU" names curve "C9", which is not in [CURVES]' });
  });

  it('rejects an unreadable or wrong file through loadCityFile with the file name', () => {
    expect(() => loadCityFile('no/such/net.inp')).toThrow(/no\/such\/net\.inp: \$: cannot read file/);
  });
});
