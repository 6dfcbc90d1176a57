// Entry of the live estimator's worker thread (gateways/automation/live-estimator.ts). A worker does
// not inherit the parent's TypeScript loader, so it registers tsx itself (as the door's workers do).
import { register } from 'tsx/esm/api';

register();
await import('./estimation-worker.ts');
