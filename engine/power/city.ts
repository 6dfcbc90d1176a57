/**
 * A MATPOWER case as a city document: every bus, branch and generator is a power asset (ids
 * `bus-<BUS_I>`, `br-<row>`, `gen-<row>`) carrying its electrical fields; links join each branch
 * to its two buses and each generator to its bus, so connectivity sees the same network.
 */
import type { MatpowerCase } from './matpower.ts';
import { branchId, busId, genId, type Electrical } from './network.ts';

interface AssetDocument {
  id: string;
  layer: 'power';
  kind: string;
  district: string;
  source?: boolean;
  electrical: Electrical;
}

export interface PowerCityDocument {
  name: string;
  version: 1;
  grid: { baseMva: number };
  assets: AssetDocument[];
  links: Array<{ from: string; to: string; kind: string }>;
}

/** Branches with an off-nominal ratio or a phase shift are transformers (MATPOWER's own test). */
export function branchKind(tap: number, shiftDeg: number): 'line' | 'transformer' {
  return tap !== 0 || shiftDeg !== 0 ? 'transformer' : 'line';
}

/**
 * Converts a parsed case to the city document that `stratum import matpower` writes.
 *
 * @example
 * const doc = matpowerToCity(parseMatpower(text, 'case118.m'));
 * doc.assets.find((a) => a.id === 'br-1')?.electrical; // { kind: 'branch', from: 'bus-1', to: 'bus-2', … }
 */
export function matpowerToCity(mpc: MatpowerCase): PowerCityDocument {
  const areaOf = new Map(mpc.buses.map((b) => [b.number, `area-${b.area}`]));
  const assets: AssetDocument[] = [];
  const links: PowerCityDocument['links'] = [];
  for (const b of mpc.buses) {
    assets.push({
      id: busId(b.number),
      layer: 'power',
      kind: 'bus',
      district: areaOf.get(b.number)!,
      electrical: {
        kind: 'bus',
        busType: b.type as 1 | 2 | 3 | 4,
        pdMw: b.pdMw,
        qdMvar: b.qdMvar,
        gsMw: b.gsMw,
        bsMvar: b.bsMvar,
        vaDeg: b.vaDeg,
        vmPu: b.vmPu,
        baseKv: b.baseKv,
        // A pandapower bus may give no limits (NaN): the city then leaves them out.
        ...(Number.isFinite(b.vmaxPu) ? { vmaxPu: b.vmaxPu } : {}),
        ...(Number.isFinite(b.vminPu) ? { vminPu: b.vminPu } : {}),
      },
    });
  }
  mpc.branches.forEach((br, r) => {
    const id = br.id ?? branchId(r + 1);
    assets.push({
      id,
      layer: 'power',
      kind: br.kind ?? branchKind(br.tap, br.shiftDeg),
      district: areaOf.get(br.from)!,
      electrical: {
        kind: 'branch',
        from: busId(br.from),
        to: busId(br.to),
        rPu: br.rPu,
        xPu: br.xPu,
        bPu: br.bPu,
        rateAMva: br.rateAMva,
        rateBMva: br.rateBMva,
        rateCMva: br.rateCMva,
        tap: br.tap,
        shiftDeg: br.shiftDeg,
        inService: br.inService,
        ...(br.gPu !== undefined && br.gPu !== 0 ? { gPu: br.gPu } : {}),
        ...(br.gAsymPu !== undefined && br.gAsymPu !== 0 ? { gAsymPu: br.gAsymPu } : {}),
        ...(br.bAsymPu !== undefined && br.bAsymPu !== 0 ? { bAsymPu: br.bAsymPu } : {}),
      },
    });
    links.push({ from: busId(br.from), to: id, kind: 'terminal' }, { from: id, to: busId(br.to), kind: 'terminal' });
  });
  mpc.gens.forEach((g, r) => {
    const id = g.id ?? genId(r + 1);
    assets.push({
      id,
      layer: 'power',
      kind: 'generator',
      district: areaOf.get(g.bus)!,
      source: true,
      electrical: { kind: 'generator', bus: busId(g.bus), pgMw: g.pgMw, qgMvar: g.qgMvar, vgPu: g.vgPu, pmaxMw: Number.isFinite(g.pmaxMw) ? g.pmaxMw : null, pminMw: Number.isFinite(g.pminMw) ? g.pminMw : null, inService: g.inService },
    });
    links.push({ from: id, to: busId(g.bus), kind: 'terminal' });
  });
  return { name: mpc.name, version: 1, grid: { baseMva: mpc.baseMva }, assets, links };
}
