// Entry of the live voltage monitor's worker thread (gateways/automation/voltage-monitor.ts). A worker
// does not inherit the parent's TypeScript loader, so it registers tsx itself (as n1-worker.mjs does).
import { register } from 'tsx/esm/api';

register();
await import('./voltage-worker.ts');
