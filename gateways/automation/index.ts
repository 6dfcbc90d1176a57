/** Opt-in automation on the live engine: the telemetry monitor and automatic shedding, acting through the door. */
export { telemetryMonitorFromEnv } from './telemetry-monitor.ts';
export { TANK_HORIZON_ENV, attachTankAlerts, tankHorizonSeconds } from './water-alerts.ts';
export { ESTIMATE_SOURCE, attachLiveEstimator, estimationEvent, liveEstimatorFromEnv } from './live-estimator.ts';
export type { LiveEstimator } from './live-estimator.ts';
export { registerEstimationRoutes } from './estimation-routes.ts';
export { VOLTAGE_SOURCE, VOLTAGE_DEADBAND_PU, VoltageMonitor, voltageMonitorFromEnv } from './voltage-monitor.ts';
