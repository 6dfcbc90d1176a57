/** Opt-in automation on the live engine: the telemetry monitor and automatic shedding, acting through the door. */
export { telemetryMonitorFromEnv } from './telemetry-monitor.ts';
