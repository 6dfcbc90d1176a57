/**
 * The engine's public surface: the kernel of Stratum Twin. Other folders import from here only.
 */
export { Rng, mixSeed } from './rng.ts';
export { StratumError, ValidationError, UnknownTargetError, ConflictError, DivergenceError } from './errors.ts';
export type { Problem } from './errors.ts';
export { KNOWN_LAYERS } from './model/types.ts';
export type { Asset, CityModel, Cohort, Dependency, KnownLayer, Link, Position } from './model/types.ts';
export { parseCity, parseCityDocument, loadCityFile, jsonPath, zodProblems, readTextFile, readJsonFile } from './model/validate.ts';
export { generateCity, GENERATED_WATER } from './model/generate.ts';
export { lonLatProjector, METRES_PER_DEGREE } from './model/geography.ts';
export type { Geography, Building, Street, DistrictArea, LandArea } from './model/geography.ts';
export { importOsm, importOsmFile, readOsmFile, isOsmPath, MAPPING, RULES, SYNTH_LAYERS } from './places/index.ts';
export type { ImportOptions, ImportReport, OsmCityDocument, OsmData, SynthLayer } from './places/index.ts';
export type { CityDocument, GenerateOptions, GeneratedWater } from './model/generate.ts';
export { CityIndex, ActorRole, groupBy } from './city-index.ts';
export type { Grouped } from './city-index.ts';
export {
  MessageKind,
  MESSAGE_KIND_NAMES,
  TimerCode,
  HazardCode,
  CyberCode,
  OrderCode,
  WaterReadingCode,
  Status,
  STATUS_NAMES,
  CauseCode,
  CAUSE_NAMES,
} from './protocol.ts';
export type { SimMessage, ActorView, Cause, StateChange } from './protocol.ts';
export type { Behaviour, BehaviourSet, StepContext } from './behaviour.ts';
export { Kernel, DEFAULT_SUPERVISION } from './kernel.ts';
export type { Driver, Round, EscalatedCrash, KernelSnapshot, SupervisionPolicy } from './kernel.ts';
export { DirectDriver } from './drivers/direct.ts';
export { NactDriver } from './drivers/nact.ts';
export { StateChangeStream } from './stream.ts';
export type { StateChangeListener, StreamSnapshot } from './stream.ts';
export { TimeQueue } from './time-queue.ts';
export { InputJournal, inputCommandSchema, parseCommand, planEntries, readJournalFile, DEFAULT_RETAINED_ENTRIES } from './journal.ts';
export type { JournalReadPlan } from './journal.ts';
export { GroupCommitFile, findTornTail, ndjsonLines, JOURNAL_SYNC_MODES } from './journal-file.ts';
export type { JournalSyncMode, TornTail } from './journal-file.ts';
export type { InputCommand, JournalEntry, JournalHeader, JournalPosition } from './journal.ts';
export { Engine, hashCity, journalHeader } from './engine.ts';
export { assembleSnapshot, decodeSnapshot, encodeSnapshot, snapshotFrames, listSnapshotFiles, loadNewestSnapshot, pruneSnapshots, readSnapshotHeader, snapshotFileName, writeSnapshotFile, DEFAULT_SNAPSHOTS_KEPT, SNAPSHOT_FORMAT, STATES_PER_FRAME, SnapshotRefused } from './snapshot.ts';
export type { EngineState, SnapshotHeader } from './snapshot.ts';
export type { DriverName, EngineOptions, RunSummary } from './engine.ts';
export { RealtimeRunner } from './realtime.ts';
export { ManualWallClock, systemWallClock } from './wall-clock.ts';
export type { WallClock, WallTimer } from './wall-clock.ts';
export type { BusPort, HistoryPort, CachePort } from './ports.ts';
export {
  BetweennessSolver,
  MotterLaiCascade,
  buildCsr,
  connectedComponents,
  pagerank,
  reachableFrom,
  highestLoadNode,
  mutualGiantComponent,
  erdosRenyi,
  barabasiAlbert,
} from './graph/index.ts';
export type { Csr } from './graph/index.ts';
export * from './water/index.ts';
export {
  parseMatpower,
  parsePandapower,
  isPandapowerDocument,
  BusType,
  networkFromCase,
  networkFromCity,
  busId,
  branchId,
  genId,
  SparseLdlt,
  SingularMatrixError,
  DcSolver,
  dcPowerFlow,
  acPowerFlow,
  AcPowerFlowError,
  findIslands,
  chooseReferences,
  branchSusceptancePu,
  busInjectionsMw,
  DcOverloadGrid,
  TRIP_TOLERANCE,
  matpowerToCity,
  screenN1,
  redispatchAfterGeneratorOutage,
  estimateDcState,
  prepareDcEstimation,
  measurementValues,
  parseMeasurements,
  measurementSchema,
  syntheticGrid,
  toMatpowerText,
  balanceLive,
  branchKind,
  voltageServiceLevel,
  voltageOutside,
  busVoltageLimits,
  voltageLimits,
  DEFAULT_VMIN_PU,
  DEFAULT_VMAX_PU,
  UNDERVOLTAGE_FLOOR,
  OVERVOLTAGE_CEILING,
} from './power/index.ts';
export type {
  MatpowerCase,
  GridNetwork,
  Electrical,
  Islands,
  DcPowerFlowResult,
  AcPowerFlowResult,
  GridState,
  DcCascadeOutcome,
  PowerCityDocument,
  ContingencyResult,
  Overload,
  ScreeningResult,
  Measurement,
  EstimationResult,
  LiveDispatch,
  DcEstimationModel,
  IslandEstimate,
} from './power/index.ts';
export * from './telemetry/index.ts';
