import {
  DEFAULT_PDA,
  LiveWaterModel,
  MessageKind,
  Status,
  TimerCode,
  WaterReadingCode,
  type ActorView,
  type Behaviour,
  type Cause,
  type CityIndex,
  type PressureDrivenDemand,
  type SimMessage,
  type StepContext,
} from '../engine/index.ts';

/** Settings of the hydraulic water solver (documented in the README's water section). */
export interface WaterSolverOptions {
  /** Virtual seconds between hydraulic snapshots (tank levels are integrated between them). */
  readonly hydraulicStepSeconds: number;
  /** A tank forecast to reach its minimum level within this many seconds is at risk. */
  readonly tankAlertHorizonSeconds: number;
  /**
   * Virtual seconds a change (a member closing, reopening or leaking) waits after the last snapshot
   * before it is solved: changes inside the window are solved together once it ends. 0: every change
   * at once. Large networks (a snapshot of a 100,000-asset city's 17,000 junctions takes 0.1–0.3 s)
   * set it so a burst of damage costs one snapshot, not hundreds.
   */
  readonly minSolveIntervalSeconds: number;
  readonly pda: PressureDrivenDemand;
}

export const DEFAULT_WATER_SOLVER: WaterSolverOptions = { hydraulicStepSeconds: 900, tankAlertHorizonSeconds: 6 * 3600, minSolveIntervalSeconds: 0, pda: DEFAULT_PDA };

/** The settings of a city (its `epanet` block) over the defaults. */
export function waterSolverOptions(epanet: NonNullable<CityIndex['city']['epanet']>): WaterSolverOptions {
  const d = DEFAULT_WATER_SOLVER;
  return {
    hydraulicStepSeconds: epanet.hydraulicStepSeconds ?? d.hydraulicStepSeconds,
    tankAlertHorizonSeconds: epanet.tankAlertHorizonSeconds ?? d.tankAlertHorizonSeconds,
    minSolveIntervalSeconds: epanet.minSolveIntervalSeconds ?? d.minSolveIntervalSeconds,
    pda: {
      minPressureM: epanet.minPressureM ?? d.pda.minPressureM,
      requiredPressureM: epanet.requiredPressureM ?? d.pda.requiredPressureM,
      pressureExponent: epanet.pressureExponent ?? d.pda.pressureExponent,
    },
  };
}

/** How the layer's members map onto the EPANET network (built once per city index: structure, not state). */
interface Wiring {
  readonly model: LiveWaterModel;
  /** Layer members (asset indexes). */
  readonly members: Int32Array;
  /** Per member: the model's links it closes when it stops working (a link: itself; a node: every link touching it). */
  readonly memberLinks: readonly (readonly number[])[];
  /** Per model junction: its asset index, or -1 when no asset carries it. */
  readonly junctionAsset: Int32Array;
  /** Per model tank: its asset index, or -1. */
  readonly tankAsset: Int32Array;
  /** Pumps: [model link position, asset index] (their flow is reported to the asset: running or stopped). */
  readonly pumpAssets: readonly (readonly [number, number])[];
  /**
   * Per model tank: the asset an operator is told about (the tank's own asset, else the pumping
   * station `X` of a generated district tank `X~tank`), or -1.
   */
  readonly tankOwner: Int32Array;
  /** Per member: the EPANET node (1-based) where it leaks when damaged but standing, or 0 (it cannot leak). */
  readonly leakNode: Int32Array;
  /** Per member: its leak's orifice area per unit of damage (1 − health), m². */
  readonly leakAreaM2: Float64Array;
}

/**
 * Leaks. A water main or pipe damaged but standing (0 < health < 1: the fragility curves' extensive
 * state, health 0.4) leaks through an orifice of (1 − health) × LEAK_AREA_SHARE of its
 * cross-section, discharging C·√p with C = Cd·A·√(2g) (EPANET's emitter, exponent 0.5); Cd = 0.75
 * as WNTR's leak model takes it. A pipe asset leaks at its start node (else its end node) when that is
 * a junction; a junction asset (a generated main) at itself, sized by its widest pipe. Complete
 * damage (health 0) closes the member instead.
 */
export const LEAK_AREA_SHARE = 0.1;
/** Timer value of a snapshot deferred by minSolveIntervalSeconds (0: the periodic snapshot). */
const DEFERRED_SNAPSHOT = 1;
export const LEAK_DISCHARGE_COEFFICIENT = 0.75;
const ROOT_2G = Math.sqrt(2 * 9.80665);

/** One tank's forecast at the last snapshot. */
export interface TankForecast {
  /** The tank's `.inp` id. */
  readonly tank: string;
  /** Asset index told about it (see Wiring.tankOwner), or -1. */
  readonly asset: number;
  readonly levelM: number;
  readonly minLevelM: number;
  readonly maxLevelM: number;
  /** Net inflow, m³/s (negative: draining). */
  readonly inflowM3s: number;
  /** Seconds until it reaches its minimum level at this outflow; Infinity when not draining. */
  readonly secondsToEmpty: number;
}

const wirings = new WeakMap<CityIndex, Wiring>();

function wiringFor(index: CityIndex, layer: number, options: WaterSolverOptions): Wiring {
  let wiring = wirings.get(index);
  if (wiring !== undefined) return wiring;
  const city = index.city;
  const model = LiveWaterModel.open(city.epanet!.inp, `${city.name} (epanet.inp)`, options.pda);
  const start = index.layerMembers.offsets[layer]!;
  const members = index.layerMembers.items.slice(start, index.layerMembers.offsets[layer + 1]!);
  const nodeAsset = new Map<string, number>();
  const pumpAssets: [number, number][] = [];
  const leakNode = new Int32Array(members.length);
  const leakAreaM2 = new Float64Array(members.length);
  const area = (diameterM: number): number => (LEAK_AREA_SHARE * Math.PI * diameterM ** 2) / 4;
  const memberLinks = Array.from(members, (asset, k) => {
    const props = city.assets[asset]!.props;
    const id = typeof props['epanetId'] === 'string' ? props['epanetId'] : city.assets[asset]!.id;
    const type = props['epanetType'];
    if (type === 'pipe' || type === 'pump' || type === 'valve') {
      const position = model.linkPosition(id);
      if (type === 'pump' && position >= 0) pumpAssets.push([position, asset]);
      if (type === 'pipe' && position >= 0) {
        const [a, b] = model.linkEnds[position]!;
        const at = model.isJunctionNode[a - 1] === 1 ? a : model.isJunctionNode[b - 1] === 1 ? b : 0;
        leakNode[k] = at;
        leakAreaM2[k] = at > 0 ? area(model.linkDiameterM[position]!) : 0;
      }
      return position < 0 ? [] : [position];
    }
    nodeAsset.set(id, asset);
    const touching = model.linksAtNode.get(id) ?? [];
    const node = model.nodeIndex.get(id) ?? 0;
    if (node > 0 && model.isJunctionNode[node - 1] === 1 && touching.length > 0) {
      leakNode[k] = node;
      leakAreaM2[k] = area(Math.max(...touching.map((l) => model.linkDiameterM[l]!)));
    }
    // A broken node (a main's junction, a works, a tank) is cut out: every link touching it closes.
    return touching;
  });
  wiring = {
    model,
    members,
    memberLinks,
    junctionAsset: Int32Array.from(model.junctionIds, (id) => nodeAsset.get(id) ?? -1),
    tankAsset: Int32Array.from(model.tankIds, (id) => nodeAsset.get(id) ?? -1),
    pumpAssets,
    tankOwner: Int32Array.from(model.tankIds, (id) => nodeAsset.get(id) ?? (id.endsWith('~tank') ? (index.indexOf(id.slice(0, -'~tank'.length)) ?? -1) : -1)),
    leakNode,
    leakAreaM2,
  };
  wirings.set(index, wiring);
  return wiring;
}

export interface WaterSolverState {
  readonly layer: number;
  /** Per member: 1 while the asset says it is operable (a broken main, an unpowered pump: 0 ⇒ closed in EPANET). */
  readonly operable: Uint8Array;
  /** Per member: its health as it last reported it (Condition); below 1 while operable, it leaks. */
  readonly health: Float64Array;
  /** Water lost through leaks at the last snapshot, m³/s. */
  readonly leakFlowM3s: number;
  /** A change waits for the end of the minimum solve interval (minSolveIntervalSeconds): the asset to blame, or -1 when none waits. */
  readonly pendingTrigger: number;
  readonly pendingChange: boolean;
  /** Virtual ms of the deferred snapshot's timer, or -1. */
  readonly deferredUntil: number;
  /** Virtual ms of the last snapshot. */
  readonly solvedAt: number;
  /** Per tank: level (m) at `solvedAt`, and net inflow (m³/s) found then. */
  readonly tankLevelM: Float64Array;
  readonly tankInflowM3s: Float64Array;
  /** Per junction: the satisfaction last announced, and the pressure found. */
  readonly satisfaction: Float64Array;
  readonly pressureM: Float64Array;
  /** Per model link: the flow found (m³/s). */
  readonly flowM3s: Float64Array;
  readonly solves: number;
}

/**
 * The water layer's solver when the city carries an EPANET network (`epanet.inp`): an actor that
 * holds the network's variable inputs and runs EPANET. Members that stop being operable (damage, a
 * lost power provider, isolation) are closed links; every `hydraulicStepSeconds` of virtual time, and
 * at once when a member changes, it integrates tank levels from the last snapshot's flows, solves a
 * new pressure-driven snapshot at the current time of day, and tells each junction asset its demand
 * satisfaction (cohorts relying on a junction lose water by it).
 */
export class WaterSolverBehaviour implements Behaviour<WaterSolverState> {
  constructor(private readonly options: WaterSolverOptions = DEFAULT_WATER_SOLVER) {}

  /** The solver's settings (PDA pressures, intervals), for the gateways that describe it. */
  get settings(): WaterSolverOptions {
    return this.options;
  }

  init(actor: number, index: CityIndex): WaterSolverState {
    const layer = index.solverLayer[actor - index.assetCount - index.cohortCount]!;
    const { model, members } = wiringFor(index, layer, this.options);
    return {
      layer,
      operable: new Uint8Array(members.length).fill(1),
      health: new Float64Array(members.length).fill(1),
      leakFlowM3s: 0,
      pendingTrigger: -1,
      pendingChange: false,
      deferredUntil: -1,
      solvedAt: 0,
      tankLevelM: Float64Array.from(model.tankInitM),
      tankInflowM3s: new Float64Array(model.tankIds.length),
      satisfaction: new Float64Array(model.junctionIds.length).fill(1),
      pressureM: new Float64Array(model.junctionIds.length).fill(Number.NaN),
      flowM3s: new Float64Array(model.linkIds.length).fill(Number.NaN),
      solves: 0,
    };
  }

  step(state: WaterSolverState, batch: readonly SimMessage[], ctx: StepContext): WaterSolverState {
    const wiring = wiringFor(ctx.index, state.layer, this.options);
    let operable = state.operable;
    let health = state.health;
    let due = false;
    let changed = false;
    let deferredFired = false;
    let trigger = -1;
    for (const m of batch) {
      if (m.kind === MessageKind.Timer && m.aux === TimerCode.HydraulicStep && m.value === DEFERRED_SNAPSHOT) {
        deferredFired = true;
      } else if (m.kind === MessageKind.Start || (m.kind === MessageKind.Timer && m.aux === TimerCode.HydraulicStep)) {
        // Snapshot now and wake up for the next one.
        due = true;
        ctx.send(ctx.self, MessageKind.Timer, 0, TimerCode.HydraulicStep, this.options.hydraulicStepSeconds * 1000);
      } else if (m.kind === MessageKind.Operable && m.from >= 0) {
        const k = ctx.index.layerPosition[m.from]!;
        const value = m.value >= 0.5 ? 1 : 0;
        if (operable[k] === value) continue;
        if (operable === state.operable) operable = Uint8Array.from(operable);
        operable[k] = value;
        if (value === 0 && trigger < 0) trigger = m.from;
        changed = true;
      } else if (m.kind === MessageKind.Condition && m.from >= 0) {
        const k = ctx.index.layerPosition[m.from]!;
        if (health[k] === m.value) continue;
        if (health === state.health) health = Float64Array.from(health);
        const worse = m.value < health[k]!;
        health[k] = m.value;
        if (worse && wiring.leakNode[k]! > 0 && trigger < 0) trigger = m.from;
        changed = true;
      }
    }
    if (trigger < 0) trigger = state.pendingTrigger;
    let deferredUntil = deferredFired ? -1 : state.deferredUntil;
    if (deferredFired && (state.pendingChange || changed)) due = true;
    if (changed && !due) {
      const earliest = state.solvedAt + this.options.minSolveIntervalSeconds * 1000;
      if (state.solves > 0 && ctx.now < earliest) {
        // Inside the minimum interval: remember the change and solve when the interval ends.
        if (deferredUntil < 0) {
          ctx.send(ctx.self, MessageKind.Timer, DEFERRED_SNAPSHOT, TimerCode.HydraulicStep, earliest - ctx.now);
          deferredUntil = earliest;
        }
        return { ...state, operable, health, pendingTrigger: trigger, pendingChange: true, deferredUntil };
      }
      due = true;
    }
    if (!due) return deferredUntil === state.deferredUntil ? state : { ...state, deferredUntil };

    const { model } = wiring;
    // Tanks: level moves with the last snapshot's net inflow over the time since (cylindrical tanks).
    const elapsedS = (ctx.now - state.solvedAt) / 1000;
    const tankLevelM = Float64Array.from(state.tankLevelM, (level, t) =>
      Math.min(model.tankMaxM[t]!, Math.max(model.tankMinM[t]!, level + (state.tankInflowM3s[t]! * elapsedS) / model.tankAreaM2[t]!)),
    );
    const closed = new Uint8Array(model.linkIds.length);
    for (let k = 0; k < operable.length; k++) {
      if (operable[k] === 0) for (const link of wiring.memberLinks[k]!) closed[link] = 1;
    }
    let leaks: Float64Array | undefined;
    for (let k = 0; k < operable.length; k++) {
      const node = wiring.leakNode[k]!;
      if (operable[k] === 0 || node === 0 || !(health[k]! < 1)) continue;
      leaks ??= new Float64Array(wiring.model.isJunctionNode.length);
      leaks[node - 1]! += LEAK_DISCHARGE_COEFFICIENT * (1 - health[k]!) * wiring.leakAreaM2[k]! * ROOT_2G;
    }
    const result = model.solve(ctx.now / 1000, closed, tankLevelM, leaks);
    const aux = trigger < 0 ? ctx.self : trigger;
    for (let j = 0; j < result.satisfaction.length; j++) {
      const asset = wiring.junctionAsset[j]!;
      if (asset >= 0 && result.satisfaction[j] !== state.satisfaction[j]) ctx.send(asset, MessageKind.WaterService, result.satisfaction[j]!, aux, 0);
    }
    // Readings for the inspector, sent when they move by what a gauge shows: 1 cm of pressure, 1 mm of level, 0.1 L/s of pump flow.
    const pressureM = Float64Array.from(result.pressureM, (p) => Math.round(p * 100) / 100);
    for (let j = 0; j < pressureM.length; j++) {
      const asset = wiring.junctionAsset[j]!;
      if (asset >= 0 && pressureM[j] !== state.pressureM[j]) ctx.send(asset, MessageKind.WaterReading, pressureM[j]!, WaterReadingCode.PressureM, 0);
    }
    for (let t = 0; t < tankLevelM.length; t++) {
      const asset = wiring.tankAsset[t]!;
      const level = Math.round(tankLevelM[t]! * 1000) / 1000;
      const before = Math.round(state.tankLevelM[t]! * 1000) / 1000;
      if (asset >= 0 && (state.solves === 0 || level !== before)) ctx.send(asset, MessageKind.WaterReading, level, WaterReadingCode.TankLevelM, 0);
    }
    const flowM3s = Float64Array.from(result.flowM3s, (q) => Math.round(q * 1e4) / 1e4);
    for (const [link, asset] of wiring.pumpAssets) {
      if (flowM3s[link] !== state.flowM3s[link]) ctx.send(asset, MessageKind.WaterReading, flowM3s[link]!, WaterReadingCode.FlowM3s, 0);
    }
    return {
      layer: state.layer,
      operable,
      health,
      leakFlowM3s: Math.round(result.leakFlowM3s * 1e6) / 1e6,
      pendingTrigger: -1,
      pendingChange: false,
      deferredUntil,
      solvedAt: ctx.now,
      tankLevelM,
      tankInflowM3s: result.tankInflowM3s,
      satisfaction: result.satisfaction,
      pressureM,
      flowM3s,
      solves: state.solves + 1,
    };
  }

  /** Seconds until each draining tank reaches its minimum level at the last snapshot's outflow (Infinity: not draining). */
  secondsToEmpty(state: WaterSolverState, index: CityIndex): Float64Array {
    const { model } = wiringFor(index, state.layer, this.options);
    return Float64Array.from(state.tankLevelM, (level, t) => {
      const outflow = -state.tankInflowM3s[t]!;
      return outflow > 1e-9 ? ((level - model.tankMinM[t]!) * model.tankAreaM2[t]!) / outflow : Number.POSITIVE_INFINITY;
    });
  }

  /** Every tank's level and time to empty at the last snapshot (the live alert channel reads these). */
  tankForecasts(state: WaterSolverState, index: CityIndex): TankForecast[] {
    const wiring = wiringFor(index, state.layer, this.options);
    const empty = this.secondsToEmpty(state, index);
    return wiring.model.tankIds.map((tank, t) => ({
      tank,
      asset: wiring.tankOwner[t]!,
      levelM: state.tankLevelM[t]!,
      minLevelM: wiring.model.tankMinM[t]!,
      maxLevelM: wiring.model.tankMaxM[t]!,
      inflowM3s: state.tankInflowM3s[t]!,
      secondsToEmpty: empty[t]!,
    }));
  }

  /**
   * What the last snapshot found at each asset, for the readings history: a junction's pressure
   * (m), a tank's level (m; a generated district tank's goes to its pumping station), a pump's flow
   * (m³/s; 0: stopped). Rounded as the WaterReading messages are.
   */
  readings(state: WaterSolverState, index: CityIndex): { actor: number; kind: 'pressureM' | 'tankLevelM' | 'flowM3s'; value: number }[] {
    const wiring = wiringFor(index, state.layer, this.options);
    const out: { actor: number; kind: 'pressureM' | 'tankLevelM' | 'flowM3s'; value: number }[] = [];
    for (let j = 0; j < state.pressureM.length; j++) {
      const actor = wiring.junctionAsset[j]!;
      if (actor >= 0 && !Number.isNaN(state.pressureM[j]!)) out.push({ actor, kind: 'pressureM', value: state.pressureM[j]! });
    }
    for (let t = 0; t < state.tankLevelM.length; t++) {
      const actor = wiring.tankOwner[t]!;
      if (actor >= 0) out.push({ actor, kind: 'tankLevelM', value: Math.round(state.tankLevelM[t]! * 1000) / 1000 });
    }
    for (const [link, actor] of wiring.pumpAssets) {
      if (!Number.isNaN(state.flowM3s[link]!)) out.push({ actor, kind: 'flowM3s', value: state.flowM3s[link]! });
    }
    return out;
  }

  private leakable(index: CityIndex, s: WaterSolverState, k: number): boolean {
    return wiringFor(index, s.layer, this.options).leakNode[k]! > 0;
  }

  view(s: WaterSolverState): ActorView {
    let served = 0;
    for (const x of s.satisfaction) served += x;
    return { status: Status.Ok, level: s.satisfaction.length === 0 ? 1 : Math.round((served / s.satisfaction.length) * 1e6) / 1e6, load: 0, stress: 0 };
  }

  cause(): Cause | null {
    return null;
  }

  fault(s: WaterSolverState): WaterSolverState {
    return s;
  }

  describe(s: WaterSolverState, index: CityIndex): Record<string, unknown> {
    const { model, junctionAsset } = wiringFor(index, s.layer, this.options);
    const empty = this.secondsToEmpty(s, index);
    const tanks = model.tankIds.map((id, t) => ({
      id,
      levelM: s.tankLevelM[t],
      inflowM3s: s.tankInflowM3s[t],
      hoursToEmpty: Number.isFinite(empty[t]!) ? empty[t]! / 3600 : null,
      atRisk: empty[t]! <= this.options.tankAlertHorizonSeconds,
    }));
    let lowest = -1;
    for (let j = 0; j < s.pressureM.length; j++) if (lowest < 0 || s.pressureM[j]! < s.pressureM[lowest]!) lowest = j;
    return {
      layer: index.layers[s.layer],
      hydraulics: 'EPANET (pressure-driven)',
      solves: s.solves,
      solvedAtSeconds: s.solvedAt / 1000,
      junctions: s.satisfaction.length,
      // Junction assets only: a generated station's suction and discharge nodes serve nobody.
      junctionsShort: s.satisfaction.filter((x, j) => x < 1 && junctionAsset[j]! >= 0).length,
      lowestPressure: lowest < 0 ? null : { junction: model.junctionIds[lowest], pressureM: s.pressureM[lowest] },
      tanks,
      closedLinks: Array.from(s.operable).flatMap((value, k) => (value === 0 ? [index.ids[index.layerMembers.items[index.layerMembers.offsets[s.layer]! + k]!]] : [])),
      leaking: Array.from(s.health).flatMap((h, k) => (h < 1 && s.operable[k] === 1 && this.leakable(index, s, k) ? [index.ids[index.layerMembers.items[index.layerMembers.offsets[s.layer]! + k]!]] : [])),
      leakFlowM3s: s.leakFlowM3s,
    };
  }
}
