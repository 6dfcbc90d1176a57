import {
  CauseCode,
  MessageKind,
  Status,
  TimerCode,
  type ActorView,
  type Behaviour,
  type Cause,
  type CityIndex,
  type SimMessage,
  type StepContext,
  busVoltageLimits,
  voltageServiceLevel,
} from '../engine/index.ts';
import { LIVE_OPTIONS, type BehaviourOptions } from './options.ts';
import { gridMembership, initialDemandMw, tripDelayMs } from './trip-delay.ts';

/** Names of the hydraulic readings in an asset's description (by WaterReadingCode). */
const WATER_READING_NAMES: readonly string[] = ['pressureM', 'tankLevelM', 'flowM3s'];

/** Relative tolerance for load comparisons, so float noise never trips an asset. */
const LOAD_EPSILON = 1e-9;
/** Above this temperature (°C) lines and transformers lose capacity, 1% per degree. */
const DERATING_THRESHOLD_C = 35;
const DERATING_PER_DEGREE = 0.01;

/** Live state of one infrastructure asset. Immutable: a step returns a new object when anything changes. */
export interface AssetState {
  /** Physical condition 0..1 (1 = intact). Damage lowers it; repair restores it. */
  readonly health: number;
  /** Effective service level of each provider, by slot (null when the asset has no providers). */
  readonly providerLevels: Float64Array | null;
  /** Product over providers of (1 − strength × (1 − level)). */
  readonly supply: number;
  /** Connected to a source of its layer (set by the layer solver). */
  readonly connected: boolean;
  /** Water junctions under the hydraulic solver: pressure-driven demand satisfaction 0..1 (1 elsewhere). */
  readonly hydraulic: number;
  /** The hydraulic solver's last reading here (WaterReadingCode `waterReadingKind`; NaN: none). */
  readonly waterReading: number;
  readonly waterReadingKind: number;
  /** Electrical buses: the service share the bus's AC voltage allows (engine/power/voltage.ts; 1 without a `voltage` input). */
  readonly voltage: number;
  /** Electrical buses: the last voltage magnitude a `voltage` input gave, pu (NaN: none; 0: collapsed). */
  readonly vmPu: number;
  readonly isolated: boolean;
  /** Taken out of service by its supervisor after repeated crashes; an operator restore clears it. */
  readonly faulted: boolean;
  readonly tripped: boolean;
  /** Degree of cyber compromise 0..1 (1 = offline). */
  readonly cyber: number;
  /** Load from demand and telemetry. */
  readonly demandLoad: number;
  /** Load moved here by tripped neighbours. */
  readonly shiftedLoad: number;
  /** Load from the flow solver (Motter–Lai betweenness). */
  readonly flowLoad: number;
  /** Load this asset handed to each link neighbour while tripped. */
  readonly handedOff: number;
  readonly capacity: number;
  readonly temperature: number;
  /** Virtual ms when the current damage is repaired (-1: none scheduled). */
  readonly repairAt: number;
  /** The service level dependents were last told. */
  readonly announced: number;
  /** Whether the layer solver was last told this asset is operable. */
  readonly reportedOperable: boolean;
  /** Live electrical branches: virtual ms when the current overload began (-1: not overloaded). */
  readonly overloadSince: number;
  /** Live electrical branches: virtual ms the pending overload trip is due (-1: none pending). */
  readonly tripDueAt: number;
  readonly cause: Cause | null;
}

export function load(s: AssetState): number {
  return s.demandLoad + s.shiftedLoad + s.flowLoad;
}

/** Working as far as the asset itself knows (connectivity aside): what the layer solver needs. */
export function operable(s: AssetState): boolean {
  return s.health > 0 && !s.isolated && !s.faulted && !s.tripped && s.supply > 0 && s.cyber < 1;
}

/** Service levels are kept to six decimals: dependency cycles then settle in a few rounds instead of creeping by ulps forever. */
const LEVEL_QUANTUM = 1e6;

export function serviceLevel(s: AssetState): number {
  if (!operable(s) || !s.connected) return 0;
  return Math.round(s.health * s.supply * (1 - s.cyber) * s.hydraulic * s.voltage * LEVEL_QUANTUM) / LEVEL_QUANTUM;
}

function statusOf(s: AssetState): Status {
  if (s.faulted) return Status.Faulted;
  if (s.isolated) return Status.Isolated;
  const level = serviceLevel(s);
  if (level <= 0) return Status.Failed;
  return level < 1 - LOAD_EPSILON ? Status.Degraded : Status.Ok;
}

function effectiveCapacity(s: AssetState): number {
  const over = s.temperature - DERATING_THRESHOLD_C;
  return over > 0 ? s.capacity * Math.max(0, 1 - DERATING_PER_DEGREE * over) : s.capacity;
}

/**
 * The message a step blames for what it did, kept as numbers and made a `Cause` object only if the
 * step records it: a telemetry batch may hold hundreds of readings for one asset. One instance
 * serves every step (steps run one at a time, each to its end, like the kernel's step context).
 */
class Blame {
  private code: CauseCode | -1 = -1;
  private from = 0;
  private seq = 0;

  reset(): void {
    this.code = -1;
  }

  set(code: CauseCode, from: number, seq: number): void {
    this.code = code;
    this.from = from;
    this.seq = seq;
  }

  /** A trip: overload becomes the code; with nothing blamed yet, the asset itself is. */
  overload(self: number): void {
    if (this.code === -1) {
      this.from = self;
      this.seq = -1;
    }
    this.code = CauseCode.Overload;
  }

  cause(time: number): Cause | null {
    return this.code === -1 ? null : { code: this.code, from: this.from, seq: this.seq, time };
  }
}

const blame = new Blame();

/**
 * The behaviour of every infrastructure asset, whatever its layer: it tracks its own condition, its
 * providers' service, its connectivity and its load, fails for a recorded cause, and tells its
 * dependents, the cohorts it serves and its layer solver whenever what they see of it changes.
 */
export class AssetBehaviour implements Behaviour<AssetState> {
  constructor(private readonly options: BehaviourOptions) {}

  /** Lognormal repair-time factor with median 1 (options.repairSpread = σ); exactly 1 without a draw when σ is 0. */
  private repairFactor(ctx: StepContext): number {
    const sigma = this.options.repairSpread;
    if (sigma === 0) return 1;
    // Box–Muller from the actor's seeded stream (1 − u keeps the logarithm finite).
    const normal = Math.sqrt(-2 * Math.log(1 - ctx.random())) * Math.cos(2 * Math.PI * ctx.random());
    return Math.exp(sigma * normal);
  }

  init(actor: number, index: CityIndex): AssetState {
    const providers = index.depsByDependent.offsets[actor + 1]! - index.depsByDependent.offsets[actor]!;
    return {
      health: 1,
      providerLevels: providers > 0 ? new Float64Array(providers).fill(1) : null,
      supply: 1,
      connected: true,
      hydraulic: 1,
      waterReading: Number.NaN,
      waterReadingKind: 0,
      voltage: 1,
      vmPu: Number.NaN,
      isolated: false,
      faulted: false,
      tripped: false,
      cyber: 0,
      // Under the flow model load is betweenness alone (Motter–Lai); demand does not add to it. In
      // the live twin's electrical layer a bus starts at Pd + Gs and a generator at its Pg (MW).
      demandLoad: this.options.loadModel === 'flow' ? 0 : this.liveGrid(index, actor) ? initialDemandMw(index, actor) : index.baseLoad[actor]!,
      shiftedLoad: 0,
      flowLoad: 0,
      handedOff: 0,
      capacity: index.capacity[actor]!,
      temperature: 20,
      repairAt: -1,
      announced: 1,
      reportedOperable: true,
      overloadSince: -1,
      tripDueAt: -1,
      cause: null,
    };
  }

  /** gridMembership of the last index seen (one behaviour serves one run): no map lookup per step. */
  private membershipOf: { index: CityIndex | null; m: ReturnType<typeof gridMembership> | null } = { index: null, m: null };

  private grid(index: CityIndex): ReturnType<typeof gridMembership> {
    if (this.membershipOf.index !== index) this.membershipOf = { index, m: gridMembership(index) };
    return this.membershipOf.m!;
  }

  /** The live twin (load model `local`) runs DC flows in a layer whose members carry electrical buses. */
  private liveGrid(index: CityIndex, actor: number): boolean {
    return liveGridMember(this.options, this.grid(index), actor);
  }

  step(state: AssetState, batch: readonly SimMessage[], ctx: StepContext): AssetState {
    const index = ctx.index;
    const self = ctx.self;
    let s: { -readonly [K in keyof AssetState]: AssetState[K] } = { ...state };
    blame.reset();

    for (let i = 0; i < batch.length; i++) {
      const m = batch[i]!;
      switch (m.kind) {
        case MessageKind.Damage: {
          const health = Math.min(s.health, Math.max(0, 1 - m.value));
          if (health < s.health) {
            s.health = health;
            blame.set(CauseCode.Damage, m.from, m.seq);
            if (this.options.selfRepair) {
              const at = ctx.now + Math.max(1000, Math.round(index.repairMs[self]! * Math.max(0.25, 1 - health) * this.repairFactor(ctx)));
              if (s.repairAt < 0 || at > s.repairAt) {
                s.repairAt = at;
                ctx.send(self, MessageKind.Timer, 0, TimerCode.RepairDone, at - ctx.now);
              }
            }
          }
          break;
        }
        case MessageKind.Timer:
          if (m.aux === TimerCode.RepairDone && s.repairAt >= 0 && ctx.now >= s.repairAt) {
            s.health = 1;
            s.cyber = 0;
            s.repairAt = -1;
          } else if (m.aux === TimerCode.TripReset && s.tripped && load(s) <= effectiveCapacity(s) * (1 + LOAD_EPSILON)) {
            s.tripped = false;
          } else if (m.aux === TimerCode.TripReset && s.tripped && this.options.tripResetSeconds !== null) {
            ctx.send(self, MessageKind.Timer, 0, TimerCode.TripReset, this.options.tripResetSeconds * 1000);
          }
          break;
        case MessageKind.Repair:
          s.health = 1;
          s.cyber = 0;
          s.repairAt = -1;
          break;
        case MessageKind.ProviderLevel: {
          const levels = s.providerLevels;
          if (levels === null) break;
          const previous = levels[m.aux]!;
          if (m.value === previous) break;
          if (m.value < previous) {
            // Independent cascade: each worsening of a provider gets one chance to pass this edge.
            const edge = index.depsByDependent.items[index.depsByDependent.offsets[self]! + m.aux]!;
            const probability = index.depProbability[edge]!;
            if (probability < 1 && ctx.random() >= probability) break;
          }
          const copy = levels === state.providerLevels ? Float64Array.from(levels) : levels;
          copy[m.aux] = m.value;
          s.providerLevels = copy;
          s.supply = supplyOf(copy, index, self);
          if (m.value < previous) blame.set(CauseCode.Dependency, m.from, m.seq);
          break;
        }
        case MessageKind.Connected:
          s.connected = m.value >= 0.5;
          // The solver names the asset whose loss cut this one off (aux), so chains explain through it.
          if (!s.connected) blame.set(CauseCode.Disconnected, m.aux, m.seq);
          break;
        case MessageKind.WaterService:
          // Below full satisfaction the solver names the asset whose loss (a closed main, a stopped pump) caused it.
          if (m.value < s.hydraulic) blame.set(CauseCode.Disconnected, m.aux, m.seq);
          s.hydraulic = m.value;
          break;
        case MessageKind.Voltage: {
          // The live voltage monitor's AC result for this bus (only a bus takes the input: engine/power/voltage.ts).
          const limits = busVoltageLimits(index, self);
          const voltage = voltageServiceLevel(m.value, limits.vminPu, limits.vmaxPu);
          if (voltage < s.voltage) blame.set(CauseCode.Telemetry, m.from, m.seq);
          s.vmPu = m.value;
          s.voltage = voltage;
          break;
        }
        case MessageKind.WaterReading:
          s.waterReading = m.value;
          s.waterReadingKind = m.aux;
          break;
        case MessageKind.LoadShift:
          // In a live electrical network the DC flow moves power: buses, branches and generators
          // take no load handed over by a tripped neighbour (a feeder's tie still does).
          if (this.liveGrid(index, self) && this.grid(index).electrical[self] === 1) break;
          s.shiftedLoad = Math.max(0, s.shiftedLoad + m.value);
          if (m.value > 0) blame.set(CauseCode.Overload, m.from, m.seq);
          break;
        case MessageKind.Demand:
          s.demandLoad = Math.max(0, s.demandLoad + m.value);
          if (m.value > 0) blame.set(CauseCode.Overload, m.from, m.seq);
          break;
        case MessageKind.Telemetry:
          // A live grid's branch reading is a measurement for the state estimator (it reads the
          // journal): the branch's load is its computed DC flow, which the estimated injections drive.
          if (!readingSetsLoad(this.liveGrid(index, self), index, self)) break;
          s.demandLoad = Math.max(0, m.value);
          blame.set(CauseCode.Telemetry, m.from, m.seq);
          break;
        case MessageKind.FlowLoad:
          s.flowLoad = m.value;
          blame.set(CauseCode.Overload, m.aux, m.seq);
          break;
        case MessageKind.SetCapacity:
          s.capacity = m.value;
          break;
        case MessageKind.ShedLoad:
          s.demandLoad = s.demandLoad * (1 - Math.min(1, Math.max(0, m.value)));
          break;
        case MessageKind.Reroute: {
          // Close a tie: a share of this asset's demand is now served through a linked neighbour.
          const moved = s.demandLoad * Math.min(1, Math.max(0, m.value));
          s.demandLoad -= moved;
          if (moved > 0) ctx.send(m.aux, MessageKind.Demand, moved, 0, 0);
          break;
        }
        case MessageKind.Ambient:
          s.temperature = m.value;
          blame.set(CauseCode.Overload, m.from, m.seq);
          break;
        case MessageKind.Isolate:
          s.isolated = true;
          blame.set(CauseCode.Isolated, m.from, m.seq);
          break;
        case MessageKind.Restore:
          s.isolated = false;
          s.faulted = false;
          s.health = 1;
          s.cyber = 0;
          s.repairAt = -1;
          if (s.tripped && load(s) <= effectiveCapacity(s) * (1 + LOAD_EPSILON)) s.tripped = false;
          break;
        case MessageKind.Secure:
          // Only the cyber condition ends; physical damage keeps its own repair, isolation its operator.
          s.cyber = 0;
          break;
        case MessageKind.Cyber: {
          const cyber = Math.min(1, Math.max(s.cyber, m.value));
          if (cyber > s.cyber) {
            s.cyber = cyber;
            blame.set(CauseCode.Cyber, m.from, m.seq);
            if (this.options.selfRepair && s.repairAt < 0) {
              const after = Math.round(index.repairMs[self]! * this.repairFactor(ctx));
              s.repairAt = ctx.now + after;
              ctx.send(self, MessageKind.Timer, 0, TimerCode.RepairDone, after);
            }
          }
          break;
        }
        default:
          break;
      }
    }

    // Overload: an operable asset whose load exceeds its (derated) capacity trips — at once, or for
    // a live electrical branch after its inverse-time delay (trip-delay.ts) if it is still over then.
    const capacity = effectiveCapacity(s);
    const over = !s.tripped && operable(s) && s.connected && load(s) > capacity * (1 + LOAD_EPSILON);
    const tauSeconds = this.liveGrid(index, self) ? this.grid(index).tauSeconds[self]! : 0;
    let trip = over;
    if (over && tauSeconds > 0) {
      if (s.overloadSince < 0) s.overloadSince = ctx.now;
      const due = s.overloadSince + tripDelayMs(tauSeconds, load(s) / capacity);
      trip = ctx.now >= due;
      if (!trip && due !== s.tripDueAt) {
        // A new due time (the overload began or its level changed): a timer for it. Timers left from
        // earlier due times find the check false and do nothing.
        s.tripDueAt = due;
        ctx.send(self, MessageKind.Timer, 0, TimerCode.OverloadTrip, due - ctx.now);
      }
    }
    if (!over || trip) {
      s.overloadSince = -1;
      s.tripDueAt = -1;
    }
    if (trip) {
      s.tripped = true;
      blame.overload(self);
      if (this.options.tripResetSeconds !== null) {
        ctx.send(self, MessageKind.Timer, 0, TimerCode.TripReset, this.options.tripResetSeconds * 1000);
      }
    }

    // Local load sharing: a tripped asset's demand moves to its link neighbours, and comes back. Not
    // in an electrical network, where the DC flow moves load by physics.
    if (this.options.loadModel === 'local' && this.grid(index).electrical[self] === 0) s = this.shareLoad(s, ctx);

    const level = serviceLevel(s);
    const cause = blame.cause(ctx.now);
    if (level <= 0 && state.announced > 0) s.cause = cause ?? s.cause;
    else if (level > 0 && statusOf(s) === Status.Ok) s.cause = null;
    else if (level > 0 && level < state.announced && cause !== null) s.cause = cause;

    if (level !== s.announced) {
      s.announced = level;
      announce(self, level, index, ctx, this.options.dependencies);
    }
    const isOperable = operable(s);
    const solver = index.solverOfLayer[index.layerOf[self]!]!;
    if (isOperable !== s.reportedOperable) {
      s.reportedOperable = isOperable;
      if (solver >= 0) ctx.send(solver, MessageKind.Operable, isOperable ? 1 : 0, 0, 0);
    }
    // Under EPANET a damaged main that still stands leaks: the hydraulic solver hears its condition.
    if (s.health !== state.health && index.city.epanet !== undefined && index.layers[index.layerOf[self]!] === 'water') {
      const solver = index.solverOfLayer[index.layerOf[self]!]!;
      if (solver >= 0) ctx.send(solver, MessageKind.Condition, s.health, 0, 0);
    }
    // The live DC flow needs every bus's demand and generator's schedule, and a feeder's demand with
    // what its ties took over from a tripped neighbour: report it when it changes.
    const reported = s.demandLoad + s.shiftedLoad;
    if (reported !== state.demandLoad + state.shiftedLoad && solver >= 0 && this.liveGrid(index, self)) ctx.send(solver, MessageKind.Demand, reported, 0, 0);
    return s;
  }

  private shareLoad(
    s: { -readonly [K in keyof AssetState]: AssetState[K] },
    ctx: StepContext,
  ): { -readonly [K in keyof AssetState]: AssetState[K] } {
    const { offsets, items } = ctx.index.links;
    const first = offsets[ctx.self]!;
    const degree = offsets[ctx.self + 1]! - first;
    if (degree === 0) return s;
    if (s.tripped && s.handedOff === 0 && s.demandLoad > 0) {
      s.handedOff = s.demandLoad / degree;
      for (let k = first; k < first + degree; k++) ctx.send(items[k]!, MessageKind.LoadShift, s.handedOff, 0, 0);
    } else if (!s.tripped && s.handedOff > 0) {
      for (let k = first; k < first + degree; k++) ctx.send(items[k]!, MessageKind.LoadShift, -s.handedOff, 0, 0);
      s.handedOff = 0;
    }
    return s;
  }

  view(s: AssetState): ActorView {
    const l = load(s);
    const capacity = effectiveCapacity(s);
    return {
      status: statusOf(s),
      level: s.announced,
      load: l,
      stress: capacity === Number.POSITIVE_INFINITY || capacity <= 0 ? (capacity <= 0 && l > 0 ? 1 : 0) : l / capacity,
    };
  }

  cause(s: AssetState): Cause | null {
    return s.cause;
  }

  fault(s: AssetState, cause: Cause): AssetState {
    return { ...s, faulted: true, cause };
  }

  describe(s: AssetState): Record<string, unknown> {
    return {
      health: s.health,
      supply: s.supply,
      connected: s.connected,
      ...(s.hydraulic === 1 ? {} : { waterSatisfaction: s.hydraulic }),
      ...(Number.isNaN(s.waterReading) ? {} : { [WATER_READING_NAMES[s.waterReadingKind] ?? 'waterReading']: s.waterReading }),
      ...(Number.isNaN(s.vmPu) ? {} : { vmPu: s.vmPu, voltageService: s.voltage }),
      isolated: s.isolated,
      faulted: s.faulted,
      tripped: s.tripped,
      ...(s.tripDueAt < 0 ? {} : { overloadTripAt: s.tripDueAt / 1000 }),
      cyber: s.cyber,
      load: load(s),
      capacity: effectiveCapacity(s),
      temperature: s.temperature,
      repairAt: s.repairAt < 0 ? null : s.repairAt / 1000,
    };
  }
}

function supplyOf(levels: Float64Array, index: CityIndex, self: number): number {
  const first = index.depsByDependent.offsets[self]!;
  let supply = 1;
  for (let slot = 0; slot < levels.length; slot++) {
    const strength = index.depStrength[index.depsByDependent.items[first + slot]!]!;
    supply *= 1 - strength * (1 - levels[slot]!);
  }
  return supply;
}

/** Tells every dependent (after its edge latency) and every cohort served the new service level. */
function announce(self: number, level: number, index: CityIndex, ctx: StepContext, dependencies: boolean): void {
  const deps = index.depsByProvider;
  for (let k = dependencies ? deps.offsets[self]! : 0; k < (dependencies ? deps.offsets[self + 1]! : 0); k++) {
    const edge = deps.items[k]!;
    ctx.send(index.depTo[edge]!, MessageKind.ProviderLevel, level, index.depSlot[edge]!, index.depLatencyMs[edge]!);
  }
  const served = index.cohortsServed;
  for (let k = served.offsets[self]!; k < served.offsets[self + 1]!; k++) {
    const row = served.items[k]!;
    ctx.send(index.assetCount + index.relianceCohort[row]!, MessageKind.ServiceLevel, level, index.relianceSlot[row]!, 0);
  }
}

const liveGridMember = (options: BehaviourOptions, grid: ReturnType<typeof gridMembership>, actor: number): boolean => options.loadModel === 'local' && grid.electricalLayer[actor] === 1;
/** A live grid's branch reading is a measurement, not its load (its load is the DC flow the injections drive). */
const readingSetsLoad = (liveGrid: boolean, index: CityIndex, actor: number): boolean => !(liveGrid && index.city.assets[actor]?.electrical?.kind === 'branch');

/**
 * Whether a `telemetry` input sets the asset's load under these options (the live twin's by
 * default): false for a branch of a live grid, whose load is its computed DC flow — its reading is
 * a measurement for the state estimator (gateways/automation/live-estimator.ts), which therefore
 * sends no branch estimates there.
 */
export function telemetrySetsLoad(index: CityIndex, actor: number, options: BehaviourOptions = LIVE_OPTIONS): boolean {
  return readingSetsLoad(actor < index.assetCount && liveGridMember(options, gridMembership(index), actor), index, actor);
}
