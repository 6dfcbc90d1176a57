// Worker entry: registers tsx inside the worker thread (workers do not inherit the parent's loader
// hooks) and then runs the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./study-worker.ts');
