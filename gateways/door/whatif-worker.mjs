// Entry of the what-if worker thread (gateways/whatif-runner.ts). A worker does not inherit the
// parent's TypeScript loader, so it registers tsx itself (as expansion-worker.mjs does) and then
// loads the TypeScript module that does the work.
import { register } from 'tsx/esm/api';

register();
await import('./whatif-worker.ts');
