// Entry of the live N-1 worker thread (gateways/http/grid-routes.ts). A worker does not inherit the
// parent's TypeScript loader, so it registers tsx itself (as expansion-worker.mjs does).
import { register } from 'tsx/esm/api';

register();
await import('./n1-worker.ts');
