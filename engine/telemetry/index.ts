/**
 * Telemetry: demand tracking (a Kalman filter per load), trust scores and the automation gate, and
 * the field simulator that produces measurement streams from a grid's true DC power flow. Pure and
 * deterministic: virtual time in, seeded randomness (engine/rng.ts) only.
 */
export { DemandTracker, DEFAULT_LEVEL_DIFFUSION, DEFAULT_SLOPE_DIFFUSION, DEFAULT_INITIAL_SLOPE_SIGMA } from './demand.ts';
export type { DemandTrackerOptions, DemandState, DemandForecast, AtRisk } from './demand.ts';
export { trustScore, gateVerdict, assetTrust, gateAction, TRUST_WEIGHTS, GATE_PASS, GATE_HOLD, JUMP_ANOMALY } from './trust.ts';
export type { FeedObservation, TrustOptions, TrustScore, GateVerdict, GateDecision } from './trust.ts';
export { simulateField, parseNoise, parseSpoof, DEFAULT_FIELD_SIGMA } from './field.ts';
export type { FieldOptions, FieldRun, FieldReading, FieldSensor, SensorKind } from './field.ts';
export { TelemetryMonitor } from './monitor.ts';
export type { MonitorOptions, MonitorAlert } from './monitor.ts';
