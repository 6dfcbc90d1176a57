/** Opt-in automation on the live engine: the telemetry monitor and automatic shedding, acting through the door. */
export { telemetryMonitorFromEnv } from './telemetry-monitor.ts';
export { TANK_HORIZON_ENV, attachTankAlerts, tankHorizonSeconds } from './water-alerts.ts';
