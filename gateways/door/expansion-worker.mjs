// Entry of the scenario-expansion worker thread (gateways/door/expander.ts). A worker does not inherit
// the parent's TypeScript loader, so it registers tsx itself (as bin/stratum.mjs does) and then
// loads the TypeScript module that does the work.
import { register } from 'tsx/esm/api';

register();
await import('./expansion-worker.ts');
