/** The HTTP API: routes (topology, state, graph, inputs, scenarios, tokens, analysis), the summary shape, metrics, and fastify helpers. */
export { closure, neighbours, shortestPath } from './graph.ts';
export { acceptEmptyBodies } from './empty-body.ts';
export { registerFavicon } from './favicon.ts';
export { registerHttpApi } from './api.ts';
export { registerScenarioRoutes } from './scenario-routes.ts';
export { registerTokenRoutes } from './token-routes.ts';
export type { TokenReload } from './token-routes.ts';
export { summarise, summaryResponse } from './summary.ts';
export type { SummaryResponse } from './summary.ts';
export { createMetrics, registerEventLoopDelay, registerSnapshotMetrics } from './metrics.ts';
export { GridWatch, registerGridRoutes } from './grid-routes.ts';
export type { GridWatchOptions } from './grid-routes.ts';
export { registerHeldActionRoutes } from './held-action-routes.ts';
export { validationRefusal } from './validation-reply.ts';
export { selectAssets } from './assets-query.ts';
export type { ActorTable } from './assets-query.ts';
