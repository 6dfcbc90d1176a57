/**
 * EPANET for the live twin: one network held open, solved as a snapshot at a given time of day with
 * given closed links and tank levels, under EPANET 2.2's pressure-driven analysis (PDA). The water
 * layer's solver actor owns the variable inputs (in its state) and integrates tank levels between
 * snapshots; this class is scratch space: every solve sets every input it depends on, so a result
 * depends only on the arguments, never on earlier solves (what determinism and crash-resets need).
 */
import { CountType, DemandModel, InitHydOption, LinkProperty, LinkType, NodeProperty, NodeType, Option, Project, TimeParameter } from 'epanet-js';
import { ValidationError } from '../errors.ts';
import { epanetFileName, loadedEpanetWorkspace } from './hydraulics.ts';
import { FLOW_UNITS, unitFactors, type UnitFactors } from './units.ts';

/**
 * Pressure-driven demand: a junction gets its full demand at or above the required pressure,
 * nothing at or below the minimum, and ((p − min) ÷ (required − min))^exponent of it between
 * (EPANET 2.2's PDA). 20 m required is a common design minimum for service pressure.
 */
export interface PressureDrivenDemand {
  readonly minPressureM: number;
  readonly requiredPressureM: number;
  readonly pressureExponent: number;
}
export const DEFAULT_PDA: PressureDrivenDemand = { minPressureM: 0, requiredPressureM: 20, pressureExponent: 0.5 };

export interface SnapshotResult {
  /** Per junction (in `junctionIds` order): pressure, m. */
  readonly pressureM: Float64Array;
  /** Per junction: delivered ÷ required demand (PDA); for junctions without demand the PDA curve at their pressure. */
  readonly satisfaction: Float64Array;
  /** Per tank (in `tankIds` order): net inflow, m³/s (negative: draining). */
  readonly tankInflowM3s: Float64Array;
  /** Per link (in `linkIds` order): flow from its start to its end node, m³/s. */
  readonly flowM3s: Float64Array;
  /** Water lost through the leaks asked for (emitters), m³/s in all. */
  readonly leakFlowM3s: number;
}

export class LiveWaterModel {
  readonly junctionIds: readonly string[];
  readonly tankIds: readonly string[];
  readonly linkIds: readonly string[];
  /** Per tank: floor area (m², cylindrical), minimum, maximum and initial level (m). */
  readonly tankAreaM2: Float64Array;
  readonly tankMinM: Float64Array;
  readonly tankMaxM: Float64Array;
  readonly tankInitM: Float64Array;
  private readonly units: UnitFactors;
  private readonly junctionIndexes: Int32Array;
  private readonly tankIndexes: Int32Array;
  private readonly originalStatus: Float64Array;
  private readonly originalSetting: Float64Array;
  private readonly isValve: Uint8Array;
  /** Per node id: positions (in `linkIds`) of the links that touch it. */
  readonly linksAtNode: ReadonlyMap<string, readonly number[]>;
  /** What is closed in the project now (scratch, diffed against each request). */
  private readonly appliedClosed: Uint8Array;
  /** Emitter coefficient set per node now (SI, m³/s per √m; scratch, diffed like closures). */
  private readonly appliedEmitter: Float64Array;
  private readonly originalEmitter: Float64Array;
  /** Emitter coefficient in force per node, in the file's units (the original plus leaks). */
  private readonly emitterFile: Float64Array;
  /** EPANET's emitter exponent γ (q = C·p^γ; 0.5 unless the file says otherwise). */
  private readonly emitterExponent: number;
  /** Per node id: its index in EPANET's node list (1-based). */
  readonly nodeIndex: ReadonlyMap<string, number>;
  /** Per node (EPANET index − 1): 1 for a junction (only junctions take an emitter). */
  readonly isJunctionNode: Uint8Array;
  /** Per link: EPANET node indexes (1-based) of its ends, and its diameter (m). */
  readonly linkEnds: readonly (readonly [number, number])[];
  readonly linkDiameterM: Float64Array;
  private hydraulicsOpen = false;

  private constructor(private readonly project: Project, private readonly pda: PressureDrivenDemand, source: string) {
    const units = FLOW_UNITS[project.getFlowUnits()];
    if (units === undefined) throw new ValidationError(source, [{ path: '[OPTIONS] Units', reason: 'flow units not supported' }]);
    this.units = unitFactors(units);
    const u = this.units;
    const junctions: number[] = [];
    const tanks: number[] = [];
    for (let i = 1; i <= project.getCount(CountType.NodeCount); i++) {
      const type = project.getNodeType(i);
      if (type === NodeType.Junction) junctions.push(i);
      else if (type === NodeType.Tank) tanks.push(i);
    }
    this.junctionIndexes = Int32Array.from(junctions);
    this.tankIndexes = Int32Array.from(tanks);
    this.junctionIds = junctions.map((i) => project.getNodeId(i));
    this.tankIds = tanks.map((i) => project.getNodeId(i));
    this.tankAreaM2 = Float64Array.from(tanks, (i) => (Math.PI * (project.getNodeValue(i, NodeProperty.TankDiam) * u.length) ** 2) / 4);
    this.tankMinM = Float64Array.from(tanks, (i) => project.getNodeValue(i, NodeProperty.MinLevel) * u.length);
    this.tankMaxM = Float64Array.from(tanks, (i) => project.getNodeValue(i, NodeProperty.MaxLevel) * u.length);
    this.tankInitM = Float64Array.from(tanks, (i) => project.getNodeValue(i, NodeProperty.TankLevel) * u.length);
    const links = project.getCount(CountType.LinkCount);
    this.linkIds = Array.from({ length: links }, (_, k) => project.getLinkId(k + 1));
    this.originalStatus = Float64Array.from({ length: links }, (_, k) => project.getLinkValue(k + 1, LinkProperty.InitStatus));
    this.originalSetting = Float64Array.from({ length: links }, (_, k) => project.getLinkValue(k + 1, LinkProperty.InitSetting));
    this.isValve = Uint8Array.from({ length: links }, (_, k) => {
      const type = project.getLinkType(k + 1);
      return type !== LinkType.Pipe && type !== LinkType.CVPipe && type !== LinkType.Pump ? 1 : 0;
    });
    this.appliedClosed = new Uint8Array(links);
    const nodes = project.getCount(CountType.NodeCount);
    this.isJunctionNode = Uint8Array.from({ length: nodes }, (_, i) => (project.getNodeType(i + 1) === NodeType.Junction ? 1 : 0));
    this.originalEmitter = Float64Array.from({ length: nodes }, (_, i) => (this.isJunctionNode[i] === 1 ? project.getNodeValue(i + 1, NodeProperty.Emitter) : 0));
    this.appliedEmitter = new Float64Array(nodes);
    this.emitterFile = Float64Array.from(this.originalEmitter);
    this.emitterExponent = project.getOption(Option.Emitexpon);
    this.nodeIndex = new Map(Array.from({ length: nodes }, (_, i) => [project.getNodeId(i + 1), i + 1] as const));
    this.linkDiameterM = Float64Array.from({ length: links }, (_, k) => project.getLinkValue(k + 1, LinkProperty.Diameter) * u.diameter);
    const ends: (readonly [number, number])[] = [];
    const linksAtNode = new Map<string, number[]>();
    for (let k = 0; k < links; k++) {
      const { node1, node2 } = project.getLinkNodes(k + 1);
      ends.push([node1, node2]);
      for (const node of [node1, node2]) {
        const id = project.getNodeId(node);
        const list = linksAtNode.get(id) ?? [];
        list.push(k);
        linksAtNode.set(id, list);
      }
    }
    this.linksAtNode = linksAtNode;
    this.linkEnds = ends;
    // The twin decides what is open: the file's controls and rules are not applied (its initial statuses are).
    for (let c = 1; c <= project.getCount(CountType.ControlCount); c++) project.setControlEnabled(c, 0);
    for (let r = 1; r <= project.getCount(CountType.RuleCount); r++) project.setRuleEnabled(r, 0);
    const toFile = u.pressure;
    project.setDemandModel(DemandModel.PDA, pda.minPressureM / toFile, pda.requiredPressureM / toFile, pda.pressureExponent);
    project.setTimeParameter(TimeParameter.Duration, 0);
  }

  /**
   * Opens an `.inp` text. The EPANET module must be loaded (`await epanetWorkspace()`; `Engine.create`
   * does it for a city with a water network).
   * @throws ValidationError when EPANET refuses the text or the module is not loaded.
   */
  static open(inp: string, source: string, pda: PressureDrivenDemand = DEFAULT_PDA): LiveWaterModel {
    const ws = loadedEpanetWorkspace();
    if (ws === null) throw new ValidationError(source, [{ path: 'epanet', reason: 'the EPANET module is not loaded (await epanetWorkspace() first)' }]);
    const name = epanetFileName();
    ws.writeFile(`${name}.inp`, inp);
    const project = new Project(ws);
    try {
      project.open(`${name}.inp`, `${name}.rpt`, '');
    } catch (error) {
      throw new ValidationError(source, [{ path: 'epanet.inp', reason: `EPANET cannot open it: ${(error as Error).message}` }]);
    }
    return new LiveWaterModel(project, pda, source);
  }

  /** Position of an `.inp` link id in `linkIds`, or -1. */
  linkPosition(id: string): number {
    return this.linkIds.indexOf(id);
  }

  /**
   * Solves the network at `timeS` seconds from the start of the patterns with the given links closed
   * (by `linkIds` position) and tank levels (m, by `tankIds` position).
   */
  solve(timeS: number, closed: Uint8Array, tankLevelsM: Float64Array, leaksSi?: Float64Array): SnapshotResult {
    const p = this.project;
    const u = this.units;
    // Leaks: EPANET emitters q = C·√p on top of the file's own (C in SI, m³/s per √m of pressure).
    for (let i = 0; i < this.appliedEmitter.length; i++) {
      const want = leaksSi?.[i] ?? 0;
      if (want === this.appliedEmitter[i]) continue;
      // q_file = C_file·√p_file with p_file = p_m ÷ u.pressure and q_m³/s = q_file × u.flowM3s.
      // (exponent 0.5: the leak rule's orifice law; a file's own emitters keep their exponent)
      this.emitterFile[i] = this.originalEmitter[i]! + (want * Math.sqrt(u.pressure)) / u.flowM3s;
      p.setNodeValue(i + 1, NodeProperty.Emitter, this.emitterFile[i]!);
      this.appliedEmitter[i] = want;
    }
    for (let k = 0; k < this.linkIds.length; k++) {
      const want = closed[k] ?? 0;
      if (want === this.appliedClosed[k]) continue;
      if (want === 1) p.setLinkValue(k + 1, LinkProperty.InitStatus, 0);
      else if (this.isValve[k] === 1 && this.originalStatus[k] !== 0) p.setLinkValue(k + 1, LinkProperty.InitSetting, this.originalSetting[k]!);
      else p.setLinkValue(k + 1, LinkProperty.InitStatus, this.originalStatus[k]!);
      this.appliedClosed[k] = want;
    }
    for (let t = 0; t < this.tankIndexes.length; t++) {
      const level = Math.min(this.tankMaxM[t]!, Math.max(this.tankMinM[t]!, tankLevelsM[t]!));
      p.setNodeValue(this.tankIndexes[t]!, NodeProperty.TankLevel, level / u.length);
    }
    p.setTimeParameter(TimeParameter.PatternStart, Math.max(0, Math.floor(timeS)));
    // The solver stays open between snapshots (opening it re-orders the sparse matrix, the costly part);
    // initH with InitFlow starts every snapshot afresh (flows re-initialised) from the inputs set above,
    // so the result does not depend on earlier snapshots.
    if (!this.hydraulicsOpen) {
      p.openH();
      this.hydraulicsOpen = true;
    }
    p.initH(InitHydOption.InitFlow);
    p.runH();
    const pressures = p.getNodeValues(NodeProperty.Pressure);
    const demands = p.getNodeValues(NodeProperty.Demand);
    const deficits = p.getNodeValues(NodeProperty.DemandDeficit);
    const flows = p.getLinkValues(LinkProperty.Flow);
    const n = this.junctionIndexes.length;
    const pressureM = new Float64Array(n);
    const satisfaction = new Float64Array(n);
    const { minPressureM, requiredPressureM, pressureExponent } = this.pda;
    for (let j = 0; j < n; j++) {
      const at = this.junctionIndexes[j]! - 1;
      const pressure = pressures[at]! * u.pressure;
      pressureM[j] = pressure;
      // EPANET's demand at a junction includes what its emitter (a leak) discharges: customers get the rest.
      const emitter = this.emitterFile[at]!;
      const delivered = emitter > 0 ? demands[at]! - emitter * Math.max(0, pressures[at]!) ** this.emitterExponent : demands[at]!;
      const required = delivered + deficits[at]!;
      const share = required > 1e-12
        ? delivered / required
        : Math.min(1, Math.max(0, (pressure - minPressureM) / (requiredPressureM - minPressureM))) ** pressureExponent;
      // Four decimals: what a customer can tell apart, and what keeps float noise from flooding the stream.
      satisfaction[j] = Math.round(Math.min(1, Math.max(0, share)) * 1e4) / 1e4;
    }
    const tankInflowM3s = Float64Array.from(this.tankIndexes, (i) => demands[i - 1]! * u.flowM3s);
    const flowM3s = Float64Array.from(flows, (q) => q * u.flowM3s);
    let leakFlowM3s = 0;
    if (leaksSi !== undefined) for (let i = 0; i < leaksSi.length; i++) if (leaksSi[i]! > 0) leakFlowM3s += leaksSi[i]! * Math.sqrt(Math.max(0, pressures[i]! * u.pressure));
    return { pressureM, satisfaction, tankInflowM3s, flowM3s, leakFlowM3s };
  }

  close(): void {
    if (this.hydraulicsOpen) this.project.closeH();
    this.project.close();
  }
}
