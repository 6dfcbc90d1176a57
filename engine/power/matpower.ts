/**
 * Reader of MATPOWER case files (`.m`, "MATPOWER Case Format: Version 2"): `mpc.baseMVA`, `mpc.bus`,
 * `mpc.gen`, `mpc.branch`; other fields (`gencost`, `bus_name`, …) are skipped. `%` starts a
 * comment; rows end with `;` or a line break; values are separated by blanks or commas.
 */
import { ValidationError, type Problem } from '../errors.ts';

/** MATPOWER bus types. */
export const BusType = { PQ: 1, PV: 2, Reference: 3, Isolated: 4 } as const;

export interface MatpowerBus {
  /** BUS_I: the bus number used by gen and branch rows. */
  readonly number: number;
  readonly type: number;
  readonly pdMw: number;
  readonly qdMvar: number;
  /** Shunt conductance (MW demanded at V = 1 pu) and susceptance (MVAr injected at V = 1 pu). */
  readonly gsMw: number;
  readonly bsMvar: number;
  readonly area: number;
  readonly vmPu: number;
  readonly vaDeg: number;
  readonly baseKv: number;
  /** Voltage magnitude limits (pu): outside them a bus is reported as a violation by the AC power flow. */
  readonly vmaxPu: number;
  readonly vminPu: number;
  readonly line: number;
}

export interface MatpowerGen {
  readonly bus: number;
  readonly pgMw: number;
  readonly qgMvar: number;
  readonly vgPu: number;
  readonly inService: boolean;
  readonly pmaxMw: number;
  readonly pminMw: number;
  readonly line: number;
  /** The city id when the source names its generators (pandapower: `ext-<i>`, `gen-<i>`, `sgen-<i>`); absent: `gen-<row>`. */
  readonly id?: string;
}

export interface MatpowerBranch {
  readonly from: number;
  readonly to: number;
  /** Per unit on baseMVA. */
  readonly rPu: number;
  readonly xPu: number;
  readonly bPu: number;
  /** Long-term, short-term and emergency ratings in MVA; 0 means unlimited. */
  readonly rateAMva: number;
  readonly rateBMva: number;
  readonly rateCMva: number;
  /** Off-nominal turns ratio at the from side; 0 means a line (ratio 1). */
  readonly tap: number;
  readonly shiftDeg: number;
  readonly inService: boolean;
  readonly line: number;
  /** The city id when the source names its branches (pandapower: `line-<i>`, `trafo-<i>`); absent: `br-<row>`. */
  readonly id?: string;
  /** The asset kind when the source says it; absent: from TAP and SHIFT (`branchKind`). */
  readonly kind?: 'line' | 'transformer';
  /**
   * pandapower's branch shunt conductance (BR_G, total, half at each end like bPu) and the extra
   * to-end shunt of its T-model transformers (BR_G_ASYM, BR_B_ASYM: the to end gets
   * (g + gAsym)/2 + j(b + bAsym)/2). AC only; absent: 0, as in MATPOWER.
   */
  readonly gPu?: number;
  readonly gAsymPu?: number;
  readonly bAsymPu?: number;
}

export interface MatpowerCase {
  readonly name: string;
  readonly baseMva: number;
  readonly buses: readonly MatpowerBus[];
  readonly gens: readonly MatpowerGen[];
  readonly branches: readonly MatpowerBranch[];
}

const MIN_COLUMNS = { bus: 13, gen: 10, branch: 11 } as const;
const BUS_COLUMNS = ['BUS_I', 'BUS_TYPE', 'PD', 'QD', 'GS', 'BS', 'BUS_AREA', 'VM', 'VA', 'BASE_KV', 'ZONE', 'VMAX', 'VMIN'];
const GEN_COLUMNS = ['GEN_BUS', 'PG', 'QG', 'QMAX', 'QMIN', 'VG', 'MBASE', 'GEN_STATUS', 'PMAX', 'PMIN'];
const BRANCH_COLUMNS = ['F_BUS', 'T_BUS', 'BR_R', 'BR_X', 'BR_B', 'RATE_A', 'RATE_B', 'RATE_C', 'TAP', 'SHIFT', 'BR_STATUS', 'ANGMIN', 'ANGMAX'];

interface RawRow {
  readonly values: number[];
  readonly line: number;
}

/** Strips a `%` comment (MATPOWER case files have no `%` inside strings of the fields we read). */
function stripComment(line: string): string {
  const at = line.indexOf('%');
  return at < 0 ? line : line.slice(0, at);
}

function parseNumber(token: string): number {
  if (/^[+-]?inf$/i.test(token)) return token.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(token)) return Number.NaN;
  return Number(token);
}

/**
 * Parses a MATPOWER case file.
 *
 * @param source names the file in error messages.
 * @throws ValidationError listing every problem with its line number (`line 215: mpc.branch row 3, T_BUS: …`).
 * @example
 * const mpc = parseMatpower(readFileSync('case118.m', 'utf8'), 'case118.m');
 * mpc.branches.length; // 186
 */
export function parseMatpower(text: string, source: string): MatpowerCase {
  const problems: Problem[] = [];
  const lines = text.split(/\r?\n/);
  let name = source.replace(/^.*[\\/]/, '').replace(/\.m$/, '');
  let baseMva: number | undefined;
  const matrices = new Map<string, RawRow[]>();
  const at = (line: number): string => `line ${line}`;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const code = stripComment(lines[i]!).trim();
    if (code === '') continue;
    const fn = /^function\s+(\w+)\s*=\s*(\w+)/.exec(code);
    if (fn) {
      name = fn[2]!;
      continue;
    }
    const scalar = /^mpc\.(\w+)\s*=\s*([^[{]*?)\s*;?$/.exec(code);
    if (scalar && scalar[1] === 'baseMVA') {
      const value = parseNumber(scalar[2]!);
      if (!(value > 0) || !Number.isFinite(value)) problems.push({ path: at(lineNo), reason: `mpc.baseMVA must be a positive number (got "${scalar[2]}")` });
      else baseMva = value;
      continue;
    }
    const open = /^mpc\.(\w+)\s*=\s*([[{])(.*)$/.exec(code);
    if (open) {
      const field = open[1]!;
      const closer = open[2] === '[' ? ']' : '}';
      const rows: RawRow[] = [];
      let rest = open[3]!;
      let rowLine = lineNo;
      let rowStart = lineNo;
      let pending: number[] = [];
      let closed = false;
      // Reads the matrix body up to its closing bracket, row by row.
      for (;;) {
        const end = rest.indexOf(closer);
        const body = end >= 0 ? rest.slice(0, end) : rest;
        if (open[2] === '[') {
          const parts = body.replace(/\.\.\./g, ' ').split(';');
          parts.forEach((part, p) => {
            for (const token of part.split(/[\s,]+/).filter((t) => t !== '')) {
              if (pending.length === 0) rowStart = rowLine;
              const value = parseNumber(token);
              if (Number.isNaN(value)) problems.push({ path: at(rowLine), reason: `mpc.${field}: "${token}" is not a number` });
              pending.push(value);
            }
            const rowEnds = p < parts.length - 1;
            if (rowEnds && pending.length > 0) {
              rows.push({ values: pending, line: rowStart });
              pending = [];
            }
          });
          // A line break also ends a row (unless continued with `...`).
          if (pending.length > 0 && !/\.\.\.\s*$/.test(body)) {
            rows.push({ values: pending, line: rowStart });
            pending = [];
          }
        }
        if (end >= 0) {
          closed = true;
          break;
        }
        i++;
        if (i >= lines.length) break;
        rowLine = i + 1;
        rest = stripComment(lines[i]!);
      }
      if (!closed) problems.push({ path: at(lineNo), reason: `mpc.${field} opened with "${open[2]}" is never closed with "${closer}"` });
      if (open[2] === '[') {
        if (matrices.has(field)) problems.push({ path: at(lineNo), reason: `mpc.${field} is defined twice` });
        matrices.set(field, rows);
      }
      continue;
    }
  }

  if (baseMva === undefined && !problems.some((p) => p.reason.startsWith('mpc.baseMVA'))) problems.push({ path: 'line 1', reason: 'mpc.baseMVA is missing' });
  const table = (field: 'bus' | 'gen' | 'branch', names: readonly string[]): RawRow[] => {
    const rows = matrices.get(field);
    if (rows === undefined) {
      problems.push({ path: 'line 1', reason: `mpc.${field} is missing` });
      return [];
    }
    if (rows.length === 0 && field !== 'gen') problems.push({ path: 'line 1', reason: `mpc.${field} has no rows` });
    const width = rows[0]?.values.length ?? 0;
    rows.forEach((row, r) => {
      if (row.values.length < MIN_COLUMNS[field]) {
        problems.push({ path: at(row.line), reason: `mpc.${field} row ${r + 1} has ${row.values.length} columns; at least ${MIN_COLUMNS[field]} are needed (${names.slice(0, MIN_COLUMNS[field]).join(' ')})` });
      } else if (row.values.length !== width) {
        problems.push({ path: at(row.line), reason: `mpc.${field} row ${r + 1} has ${row.values.length} columns, row 1 has ${width}` });
      }
    });
    return rows.filter((row) => row.values.length >= MIN_COLUMNS[field]);
  };
  const busRows = table('bus', BUS_COLUMNS);
  const genRows = table('gen', GEN_COLUMNS);
  const branchRows = table('branch', BRANCH_COLUMNS);

  const finiteCheck = (field: string, names: readonly string[], row: RawRow, r: number, columns: readonly number[]): void => {
    for (const c of columns) {
      if (!Number.isFinite(row.values[c]!)) problems.push({ path: at(row.line), reason: `mpc.${field} row ${r + 1}, ${names[c]}: must be a finite number (got ${row.values[c]})` });
    }
  };

  const busNumbers = new Map<number, number>();
  const buses: MatpowerBus[] = busRows.map((row, r) => {
    const v = row.values;
    finiteCheck('bus', BUS_COLUMNS, row, r, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12]);
    const number = v[0]!;
    if (!Number.isInteger(number) || number <= 0) problems.push({ path: at(row.line), reason: `mpc.bus row ${r + 1}, BUS_I: must be a positive whole number (got ${number})` });
    else if (busNumbers.has(number)) problems.push({ path: at(row.line), reason: `mpc.bus row ${r + 1}, BUS_I: bus ${number} is already defined on line ${busNumbers.get(number)}` });
    else busNumbers.set(number, row.line);
    if (![1, 2, 3, 4].includes(v[1]!)) problems.push({ path: at(row.line), reason: `mpc.bus row ${r + 1}, BUS_TYPE: must be 1 (PQ), 2 (PV), 3 (reference) or 4 (isolated) (got ${v[1]})` });
    return { number, type: v[1]!, pdMw: v[2]!, qdMvar: v[3]!, gsMw: v[4]!, bsMvar: v[5]!, area: v[6]!, vmPu: v[7]!, vaDeg: v[8]!, baseKv: v[9]!, vmaxPu: v[11]!, vminPu: v[12]!, line: row.line };
  });
  const checkBus = (field: string, column: string, bus: number, row: RawRow, r: number): void => {
    if (busRows.length > 0 && !busNumbers.has(bus)) problems.push({ path: at(row.line), reason: `mpc.${field} row ${r + 1}, ${column}: bus ${bus} is not in mpc.bus` });
  };
  const gens: MatpowerGen[] = genRows.map((row, r) => {
    const v = row.values;
    finiteCheck('gen', GEN_COLUMNS, row, r, [0, 1, 2, 5, 7]);
    checkBus('gen', 'GEN_BUS', v[0]!, row, r);
    return { bus: v[0]!, pgMw: v[1]!, qgMvar: v[2]!, vgPu: v[5]!, inService: v[7]! > 0, pmaxMw: v[8]!, pminMw: v[9]!, line: row.line };
  });
  const branches: MatpowerBranch[] = branchRows.map((row, r) => {
    const v = row.values;
    finiteCheck('branch', BRANCH_COLUMNS, row, r, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    checkBus('branch', 'F_BUS', v[0]!, row, r);
    checkBus('branch', 'T_BUS', v[1]!, row, r);
    if (v[0] === v[1]) problems.push({ path: at(row.line), reason: `mpc.branch row ${r + 1}: F_BUS and T_BUS are both bus ${v[0]}` });
    if (v[5]! < 0 || v[6]! < 0 || v[7]! < 0) problems.push({ path: at(row.line), reason: `mpc.branch row ${r + 1}: ratings RATE_A/B/C must be ≥ 0 (0 = unlimited)` });
    if (v[8]! < 0) problems.push({ path: at(row.line), reason: `mpc.branch row ${r + 1}, TAP: must be ≥ 0 (0 = a line) (got ${v[8]})` });
    return {
      from: v[0]!,
      to: v[1]!,
      rPu: v[2]!,
      xPu: v[3]!,
      bPu: v[4]!,
      rateAMva: v[5]!,
      rateBMva: v[6]!,
      rateCMva: v[7]!,
      tap: v[8]!,
      shiftDeg: v[9]!,
      inService: v[10]! > 0,
      line: row.line,
    };
  });
  if (problems.length > 0) throw new ValidationError(source, problems);
  return { name, baseMva: baseMva!, buses, gens, branches };
}
