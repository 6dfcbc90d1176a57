/**
 * The message protocol between actors. Messages are small flat records so that millions of them
 * cost little: a kind code, a number value and an auxiliary integer whose meaning depends on the kind.
 */

export const MessageKind = {
  /** Engine → every actor at the first instant: compute and announce initial state. */
  Start: 0,
  /** Physical damage. value: severity 0..1 (1 destroys); aux: hazard code (see HazardCode). */
  Damage: 1,
  /** Repair complete (self-timer or a crew). value: 1. */
  Repair: 2,
  /** Provider → dependent. value: the provider's service level 0..1; aux: the slot of the edge in the dependent's provider list. */
  ProviderLevel: 3,
  /** Asset → its layer solver. value: 1 operable, 0 not. */
  Operable: 4,
  /** Layer solver → asset. value: 1 connected to a source (or the giant component), 0 cut off. */
  Connected: 5,
  /** Load moved onto an asset by a neighbour's trip (negative when given back). value: load units. */
  LoadShift: 6,
  /**
   * Cohort → asset it relies on. value: change of demand in load units. Also, in a live electrical
   * layer, asset → its layer solver: value: the asset's demand now (MW, absolute; actors/dc-flow.ts).
   */
  Demand: 7,
  /** Telemetry: a measured load. value: load units. */
  Telemetry: 8,
  /** Operator: isolate the asset (take it out of service deliberately). */
  Isolate: 9,
  /** Operator: restore an isolated, tripped or damaged asset now. */
  Restore: 10,
  /** Operator: shed a share of load. value: share 0..1 of current demand to drop. */
  ShedLoad: 11,
  /** Self wake-up. aux: timer code (see TimerCode). */
  Timer: 12,
  /** Asset → cohort relying on it. value: service level 0..1; aux: slot in the cohort's reliance list. */
  ServiceLevel: 13,
  /** Ambient temperature in °C (heat raises demand and derates equipment). */
  Ambient: 14,
  /** Flow solver → asset: its computed flow load (Motter–Lai betweenness). value: load units. */
  FlowLoad: 15,
  /** Cyber compromise of a control system. value: severity 0..1; aux: CyberCode. */
  Cyber: 16,
  /** Official order to a cohort. aux: OrderCode. */
  Order: 17,
  /** Flow solver → asset: capacity to use from now on. value: load units. */
  SetCapacity: 18,
  /** Operator: move a share of this asset's demand to a linked asset of its layer. value: share 0..1; aux: the receiving asset. */
  Reroute: 19,
  /** A cyber incident is over (attack mitigated, systems rebuilt from backup): clears the cyber condition only, not damage or isolation. */
  Secure: 20,
  /** Hydraulic water solver → junction: pressure-driven demand satisfaction 0..1 (EPANET PDA); aux: the asset blamed for a loss. */
  WaterService: 21,
  /** Hydraulic water solver → a water asset: what EPANET found there, for inspection. value: the reading; aux: WaterReading code. */
  WaterReading: 22,
  /** A water asset → the hydraulic water solver: its physical condition changed. value: health 0..1 (damaged but standing: it leaks). */
  Condition: 23,
  /** A bus's AC voltage magnitude from the live voltage monitor (a `voltage` input). value: Vm in pu (0: collapsed). */
  Voltage: 24,
} as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

export const MESSAGE_KIND_NAMES: readonly string[] = Object.keys(MessageKind);

/** What a WaterReading message carries: a junction's pressure (m), a tank's level (m), a link's flow (m³/s). */
export const WaterReadingCode = { PressureM: 0, TankLevelM: 1, FlowM3s: 2 } as const;
/** OverloadTrip: a branch's overload timer (its inverse-time trip delay) has run out; the branch checks it is still over. */
export const TimerCode = { RepairDone: 1, TripReset: 2, CohortTick: 3, HydraulicStep: 4, OverloadTrip: 5 } as const;
export const HazardCode = { None: 0, Flood: 1, Wind: 2, Shaking: 3, Heat: 4, Fire: 5 } as const;
export const CyberCode = { Compromise: 1, Ddos: 2, Ransomware: 3 } as const;
export const OrderCode = { Shelter: 1, Evacuate: 2, SaveWater: 3, AllClear: 4 } as const;

/**
 * One message in flight. `seq` is assigned by the scheduler when the message is routed; it is the
 * message's identity in causes and in the (time, seq) delivery order.
 */
export interface SimMessage {
  readonly to: number;
  /** Sender actor index, or -1 for an input from outside (then `aux`/`inputSeq` name the journal entry). */
  readonly from: number;
  readonly kind: MessageKind;
  readonly value: number;
  readonly aux: number;
  seq: number;
}

/** Status codes shared by the stream, the wire protocol and the UI. */
export const Status = {
  Ok: 0,
  Degraded: 1,
  Failed: 2,
  Isolated: 3,
  /** The behaviour crashed repeatedly; the supervisor took it out of service. */
  Faulted: 4,
  /** Cohort: sheltering in place or evacuating. */
  Sheltering: 5,
} as const;
export type Status = (typeof Status)[keyof typeof Status];
export const STATUS_NAMES: readonly string[] = ['ok', 'degraded', 'failed', 'isolated', 'faulted', 'sheltering'];

/** Why an asset left service. Recorded with the failure so a chain can be explained later. */
export const CauseCode = {
  None: 0,
  Damage: 1,
  Dependency: 2,
  Disconnected: 3,
  Overload: 4,
  Isolated: 5,
  Cyber: 6,
  Crash: 7,
  Telemetry: 8,
} as const;
export type CauseCode = (typeof CauseCode)[keyof typeof CauseCode];
export const CAUSE_NAMES: readonly string[] = ['none', 'damage', 'dependency', 'disconnected', 'overload', 'isolated', 'cyber', 'crash', 'telemetry'];

export interface Cause {
  readonly code: CauseCode;
  /** The actor whose message caused it (-1: an input). */
  readonly from: number;
  /** The message's sequence number. */
  readonly seq: number;
  /** Virtual time (ms) of the cause. */
  readonly time: number;
}

/**
 * What the outside world sees of an actor: the fields of the state-change stream and of the wire
 * frames. Assets: level = service delivered 0..1, load in load units, stress = load ÷ capacity.
 * Cohorts: level = share of needs served, load = demand multiplier, stress = human stress 0..1.
 */
export interface ActorView {
  readonly status: Status;
  readonly level: number;
  readonly load: number;
  readonly stress: number;
}

/** One entry of the state-change stream. */
export interface StateChange {
  /** Virtual time in ms. */
  readonly time: number;
  /** Position in the stream, from 0. */
  readonly seq: number;
  readonly actor: number;
  readonly before: ActorView;
  readonly after: ActorView;
  readonly cause: Cause | null;
}
