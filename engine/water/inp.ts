/**
 * Reading EPANET `.inp` files (the EPANET 2.2 input format, as written by EPANET, WNTR and most
 * utility GIS exports) into a network description in SI units, and from there into the city model.
 *
 * Why a reader of our own when EPANET is at hand (epanet-js): the city model is loaded synchronously
 * (`loadCityFile`), EPANET in WebAssembly needs an asynchronous start, and EPANET's own errors name a
 * code but not the line. This reader checks every line it uses and names file and line; EPANET still
 * runs the hydraulics on the original text (hydraulics.ts), so nothing here decides a pressure.
 */
import { ValidationError, type Problem } from '../errors.ts';
import { FLOW_UNITS, unitFactors, type FlowUnits, type UnitFactors } from './units.ts';

/** Sections of the EPANET 2.2 format. Sections this reader does not use are accepted and skipped. */
const SECTIONS = new Set([
  'TITLE', 'JUNCTIONS', 'RESERVOIRS', 'TANKS', 'PIPES', 'PUMPS', 'VALVES', 'TAGS', 'DEMANDS', 'STATUS',
  'PATTERNS', 'CURVES', 'CONTROLS', 'RULES', 'ENERGY', 'EMITTERS', 'QUALITY', 'SOURCES', 'REACTIONS',
  'MIXING', 'TIMES', 'REPORT', 'OPTIONS', 'COORDINATES', 'VERTICES', 'LABELS', 'BACKDROP', 'END',
  'LEAKAGE',
]);

/** EPANET's limit on ID length (MAXID). */
const MAX_ID_LENGTH = 31;

export type NodeType = 'junction' | 'reservoir' | 'tank';
export type LinkType = 'pipe' | 'pump' | 'valve';
export const VALVE_TYPES = ['PRV', 'PSV', 'PBV', 'FCV', 'TCV', 'GPV'] as const;
export type ValveType = (typeof VALVE_TYPES)[number];

export interface Demand {
  readonly m3s: number;
  readonly pattern: string | null;
}

export interface InpNode {
  readonly type: NodeType;
  readonly id: string;
  readonly line: number;
  /** Junction and tank bottom elevation; a reservoir's (fixed) head. */
  readonly elevationM: number;
  readonly demands: readonly Demand[];
  /** Reservoir head pattern. */
  readonly pattern: string | null;
  readonly tank: TankData | null;
  position: { x: number; y: number } | null;
}

export interface TankData {
  readonly initLevelM: number;
  readonly minLevelM: number;
  readonly maxLevelM: number;
  readonly diameterM: number;
  readonly minVolumeM3: number;
  readonly volumeCurve: string | null;
}

export interface InpLink {
  readonly type: LinkType;
  readonly id: string;
  readonly line: number;
  readonly from: string;
  readonly to: string;
  /** Pipe: length, diameter, roughness (H-W C, D-W mm, C-M n), minor loss, initial status. */
  readonly pipe: { lengthM: number; diameterM: number; roughness: number; minorLoss: number; status: 'OPEN' | 'CLOSED' | 'CV' } | null;
  /** Pump: a head curve id or a constant power, speed, speed pattern. */
  readonly pump: { headCurve: string | null; powerKw: number | null; speed: number; pattern: string | null } | null;
  /** Valve: its type and setting in SI (pressure m for PRV/PSV/PBV, m³/s for FCV, loss coefficient for TCV, curve id for GPV). */
  readonly valve: { valveType: ValveType; diameterM: number; setting: number | string; minorLoss: number } | null;
}

export interface InpNetwork {
  readonly source: string;
  readonly title: string;
  readonly units: UnitFactors;
  readonly headloss: 'H-W' | 'D-W' | 'C-M';
  readonly nodes: readonly InpNode[];
  readonly links: readonly InpLink[];
  readonly patterns: ReadonlyMap<string, readonly number[]>;
  readonly curves: ReadonlyMap<string, readonly (readonly [number, number])[]>;
}

interface Row {
  readonly line: number;
  readonly fields: readonly string[];
}

/** Splits the text into sections of rows (comments and blank lines dropped), naming bad lines. */
function sectionsOf(text: string, problems: Problem[]): Map<string, Row[]> {
  const sections = new Map<string, Row[]>();
  let current: Row[] | null = null;
  let currentName = '';
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const body = (currentName === 'TITLE' ? raw : raw.split(';')[0] ?? '').trim();
    if (body === '') return;
    const header = /^\[([A-Za-z]+)\]/.exec(body);
    if (header !== null) {
      const name = header[1]!.toUpperCase();
      if (!SECTIONS.has(name)) {
        problems.push({ path: `line ${line}`, reason: `unknown section [${header[1]}]` });
        current = null;
        currentName = '';
        return;
      }
      currentName = name;
      current = sections.get(name) ?? [];
      sections.set(name, current);
      return;
    }
    if (current === null) {
      if (problems.every((p) => !p.reason.startsWith('unknown section'))) {
        problems.push({ path: `line ${line}`, reason: 'data before the first [SECTION] header (is this an EPANET .inp file?)' });
      }
      return;
    }
    current.push({ line, fields: body.split(/\s+/) });
  });
  return sections;
}

/** Parses an EPANET `.inp` text. @throws ValidationError naming `source`, the line and the reason. */
export function parseInp(text: string, source: string): InpNetwork {
  const problems: Problem[] = [];
  const sections = sectionsOf(text, problems);
  const rows = (name: string): Row[] => sections.get(name) ?? [];
  const at = (row: Row): string => `line ${row.line}`;

  const number = (row: Row, index: number, what: string, fallback?: number): number => {
    const field = row.fields[index];
    if (field === undefined) {
      if (fallback !== undefined) return fallback;
      problems.push({ path: at(row), reason: `missing ${what} (field ${index + 1})` });
      return Number.NaN;
    }
    const value = Number(field);
    if (!Number.isFinite(value)) problems.push({ path: at(row), reason: `${what} must be a number (got "${field}")` });
    return value;
  };
  const text_ = (row: Row, index: number, what: string): string => {
    const field = row.fields[index];
    if (field === undefined) {
      problems.push({ path: at(row), reason: `missing ${what} (field ${index + 1})` });
      return '';
    }
    return field;
  };

  // Options first: they decide the units of everything else, wherever the section sits in the file.
  let flow: FlowUnits = 'GPM';
  let headloss: InpNetwork['headloss'] = 'H-W';
  let defaultPatternOption: string | null = null;
  for (const row of rows('OPTIONS')) {
    const key = row.fields[0]!.toUpperCase();
    if (key === 'UNITS') {
      const value = (row.fields[1] ?? '').toUpperCase();
      if ((FLOW_UNITS as readonly string[]).includes(value)) flow = value as FlowUnits;
      else problems.push({ path: at(row), reason: `Units must be one of ${FLOW_UNITS.join(', ')} (got "${row.fields[1] ?? ''}")` });
    } else if (key === 'PATTERN' && row.fields[1] !== undefined) {
      defaultPatternOption = row.fields[1];
    } else if (key === 'HEADLOSS') {
      const value = (row.fields[1] ?? '').toUpperCase();
      if (value === 'H-W' || value === 'D-W' || value === 'C-M') headloss = value;
      else problems.push({ path: at(row), reason: `Headloss must be H-W, D-W or C-M (got "${row.fields[1] ?? ''}")` });
    }
  }
  const units = unitFactors(flow);

  const nodes: InpNode[] = [];
  const nodeById = new Map<string, InpNode>();
  const checkId = (row: Row, id: string, kind: string): boolean => {
    if (id.length > MAX_ID_LENGTH) {
      problems.push({ path: at(row), reason: `${kind} id "${id}" is longer than EPANET's ${MAX_ID_LENGTH} characters` });
      return false;
    }
    return true;
  };
  /** Adds a node or a link to its namespace (EPANET keeps the two apart), refusing a duplicate. */
  const register = <T extends { readonly id: string; readonly type: string; readonly line: number }>(row: Row, item: T, byId: Map<string, T>, list: T[], what: 'node' | 'link'): void => {
    if (!checkId(row, item.id, item.type)) return;
    const seen = byId.get(item.id);
    if (seen !== undefined) {
      problems.push({ path: at(row), reason: `duplicate ${what} id "${item.id}" (first declared as a ${seen.type} on line ${seen.line})` });
      return;
    }
    byId.set(item.id, item);
    list.push(item);
  };
  const addNode = (row: Row, node: InpNode): void => register(row, node, nodeById, nodes, 'node');

  for (const row of rows('JUNCTIONS')) {
    const id = text_(row, 0, 'junction id');
    const elevation = number(row, 1, 'elevation');
    const demand = number(row, 2, 'base demand', 0);
    const pattern = row.fields[3] ?? null;
    addNode(row, {
      type: 'junction', id, line: row.line, elevationM: elevation * units.length,
      demands: demand === 0 ? [] : [{ m3s: demand * units.flowM3s, pattern }], pattern: null, tank: null, position: null,
    });
  }
  for (const row of rows('RESERVOIRS')) {
    const id = text_(row, 0, 'reservoir id');
    addNode(row, {
      type: 'reservoir', id, line: row.line, elevationM: number(row, 1, 'head') * units.length,
      demands: [], pattern: row.fields[2] ?? null, tank: null, position: null,
    });
  }
  for (const row of rows('TANKS')) {
    const id = text_(row, 0, 'tank id');
    const tank: TankData = {
      initLevelM: number(row, 2, 'initial level') * units.length,
      minLevelM: number(row, 3, 'minimum level') * units.length,
      maxLevelM: number(row, 4, 'maximum level') * units.length,
      diameterM: number(row, 5, 'diameter') * units.length,
      minVolumeM3: number(row, 6, 'minimum volume', 0) * units.length ** 3,
      volumeCurve: row.fields[7] === undefined || row.fields[7] === '*' ? null : row.fields[7],
    };
    if (tank.minLevelM > tank.initLevelM || tank.initLevelM > tank.maxLevelM) {
      problems.push({ path: at(row), reason: 'tank levels must satisfy minimum ≤ initial ≤ maximum' });
    }
    addNode(row, { type: 'tank', id, line: row.line, elevationM: number(row, 1, 'elevation') * units.length, demands: [], pattern: null, tank, position: null });
  }

  // [DEMANDS] replaces a junction's demand from [JUNCTIONS] (EPANET 2.2 semantics).
  const demandRows = new Map<string, Demand[]>();
  for (const row of rows('DEMANDS')) {
    const id = text_(row, 0, 'junction id');
    const node = nodeById.get(id);
    if (node === undefined || node.type !== 'junction') {
      problems.push({ path: at(row), reason: `[DEMANDS] names "${id}", which is not a junction` });
      continue;
    }
    const list = demandRows.get(id) ?? [];
    list.push({ m3s: number(row, 1, 'demand') * units.flowM3s, pattern: row.fields[2] ?? null });
    demandRows.set(id, list);
  }
  for (const [id, demands] of demandRows) {
    const index = nodes.findIndex((n) => n.id === id);
    const node = nodes[index]!;
    const replaced: InpNode = { ...node, demands };
    nodes[index] = replaced;
    nodeById.set(id, replaced);
  }

  const links: InpLink[] = [];
  const linkById = new Map<string, InpLink>();
  const endpoints = (row: Row, kind: string): { from: string; to: string } => {
    const from = text_(row, 1, 'start node');
    const to = text_(row, 2, 'end node');
    for (const end of [from, to]) {
      if (end !== '' && !nodeById.has(end)) problems.push({ path: at(row), reason: `${kind} "${row.fields[0]}" names node "${end}", which is not declared` });
    }
    if (from !== '' && from === to) problems.push({ path: at(row), reason: `${kind} "${row.fields[0]}" starts and ends at node "${from}"` });
    return { from, to };
  };
  const addLink = (row: Row, link: InpLink): void => register(row, link, linkById, links, 'link');
  const positive = (row: Row, value: number, what: string): void => {
    if (Number.isFinite(value) && value <= 0) problems.push({ path: at(row), reason: `${what} must be > 0 (got ${value})` });
  };

  for (const row of rows('PIPES')) {
    const id = text_(row, 0, 'pipe id');
    const ends = endpoints(row, 'pipe');
    const length = number(row, 3, 'length');
    const diameter = number(row, 4, 'diameter');
    positive(row, length, 'length');
    positive(row, diameter, 'diameter');
    const roughness = number(row, 5, 'roughness');
    const minorLoss = number(row, 6, 'minor loss', 0);
    const status = (row.fields[7] ?? 'OPEN').toUpperCase();
    if (status !== 'OPEN' && status !== 'CLOSED' && status !== 'CV') {
      problems.push({ path: at(row), reason: `pipe status must be Open, Closed or CV (got "${row.fields[7]}")` });
    }
    addLink(row, {
      type: 'pipe', id, line: row.line, ...ends, pump: null, valve: null,
      pipe: {
        lengthM: length * units.length,
        diameterM: diameter * units.diameter,
        // Darcy-Weisbach roughness is in millifeet (US) or mm (SI); keep it in mm.
        roughness: headloss === 'D-W' ? roughness * (units.length === 1 ? 1 : 0.3048) : roughness,
        minorLoss,
        status: status as 'OPEN' | 'CLOSED' | 'CV',
      },
    });
  }
  for (const row of rows('PUMPS')) {
    const id = text_(row, 0, 'pump id');
    const ends = endpoints(row, 'pump');
    let headCurve: string | null = null;
    let powerKw: number | null = null;
    let speed = 1;
    let pattern: string | null = null;
    for (let k = 3; k < row.fields.length; k += 2) {
      const key = row.fields[k]!.toUpperCase();
      const value = row.fields[k + 1];
      if (value === undefined) {
        problems.push({ path: at(row), reason: `pump keyword ${row.fields[k]} has no value` });
        break;
      }
      if (key === 'HEAD') headCurve = value;
      else if (key === 'POWER') powerKw = number(row, k + 1, 'pump power') * units.powerKw;
      else if (key === 'SPEED') speed = number(row, k + 1, 'pump speed');
      else if (key === 'PATTERN') pattern = value;
      else problems.push({ path: at(row), reason: `pump keyword must be HEAD, POWER, SPEED or PATTERN (got "${row.fields[k]}")` });
    }
    if (headCurve === null && powerKw === null) problems.push({ path: at(row), reason: `pump "${id}" needs a HEAD curve or a POWER` });
    addLink(row, { type: 'pump', id, line: row.line, ...ends, pipe: null, valve: null, pump: { headCurve, powerKw, speed, pattern } });
  }
  for (const row of rows('VALVES')) {
    const id = text_(row, 0, 'valve id');
    const ends = endpoints(row, 'valve');
    const diameter = number(row, 3, 'diameter');
    positive(row, diameter, 'diameter');
    const valveType = (row.fields[4] ?? '').toUpperCase() as ValveType;
    if (!VALVE_TYPES.includes(valveType)) problems.push({ path: at(row), reason: `valve type must be one of ${VALVE_TYPES.join(', ')} (got "${row.fields[4] ?? ''}")` });
    let setting: number | string;
    if (valveType === 'GPV') setting = text_(row, 5, 'head-loss curve id');
    else {
      const raw = number(row, 5, 'setting');
      setting = valveType === 'FCV' ? raw * units.flowM3s : valveType === 'TCV' ? raw : raw * units.pressure;
    }
    addLink(row, {
      type: 'valve', id, line: row.line, ...ends, pipe: null, pump: null,
      valve: { valveType, diameterM: diameter * units.diameter, setting, minorLoss: number(row, 6, 'minor loss', 0) },
    });
  }

  const patterns = new Map<string, number[]>();
  for (const row of rows('PATTERNS')) {
    const id = text_(row, 0, 'pattern id');
    const list = patterns.get(id) ?? [];
    for (let k = 1; k < row.fields.length; k++) list.push(number(row, k, 'pattern multiplier'));
    patterns.set(id, list);
  }
  const curves = new Map<string, [number, number][]>();
  for (const row of rows('CURVES')) {
    const id = text_(row, 0, 'curve id');
    const list = curves.get(id) ?? [];
    list.push([number(row, 1, 'curve x'), number(row, 2, 'curve y')]);
    curves.set(id, list);
  }
  // A demand without a pattern follows the default pattern: [OPTIONS] Pattern, else pattern "1" if there is one (EPANET's rule).
  const defaultPattern = defaultPatternOption ?? (patterns.has('1') ? '1' : null);
  if (defaultPattern !== null) {
    nodes.forEach((node, i) => {
      if (node.demands.some((d) => d.pattern === null)) nodes[i] = { ...node, demands: node.demands.map((d) => ({ m3s: d.m3s, pattern: d.pattern ?? defaultPattern })) };
    });
    nodeById.clear();
    for (const node of nodes) nodeById.set(node.id, node);
  }
  const needPattern = (id: string | null, line: number, what: string): void => {
    if (id !== null && !patterns.has(id)) problems.push({ path: `line ${line}`, reason: `${what} names pattern "${id}", which is not in [PATTERNS]` });
  };
  const needCurve = (id: string | null, line: number, what: string): void => {
    if (id !== null && !curves.has(id)) problems.push({ path: `line ${line}`, reason: `${what} names curve "${id}", which is not in [CURVES]` });
  };
  for (const node of nodes) {
    node.demands.forEach((d) => needPattern(d.pattern, node.line, `junction "${node.id}"`));
    needPattern(node.pattern, node.line, `reservoir "${node.id}"`);
    needCurve(node.tank?.volumeCurve ?? null, node.line, `tank "${node.id}"`);
  }
  for (const link of links) {
    needCurve(link.pump?.headCurve ?? null, link.line, `pump "${link.id}"`);
    needPattern(link.pump?.pattern ?? null, link.line, `pump "${link.id}"`);
    if (link.valve?.valveType === 'GPV') needCurve(String(link.valve.setting), link.line, `valve "${link.id}"`);
  }

  for (const row of rows('COORDINATES')) {
    const id = text_(row, 0, 'node id');
    const node = nodeById.get(id);
    const x = number(row, 1, 'x');
    const y = number(row, 2, 'y');
    if (node === undefined) problems.push({ path: at(row), reason: `[COORDINATES] names "${id}", which is not a node` });
    else node.position = { x, y };
  }

  if (nodes.length === 0) problems.push({ path: 'line 1', reason: 'no junctions, reservoirs or tanks: not an EPANET network' });
  else if (!nodes.some((n) => n.type !== 'junction')) problems.push({ path: 'line 1', reason: 'the network has no reservoir or tank, so EPANET cannot solve it' });
  if (problems.length > 0) throw new ValidationError(source, problems);

  const title = (rows('TITLE')[0]?.fields.join(' ') ?? '').trim();
  return { source, title, units, headloss, nodes, links, patterns, curves };
}
