/** Gateway reads: the engine publishes the live state (exact numbers), clock, summary and topology on Redis; a gateway answers the live-state reads from it. */
export { StatePublisher, STATE_PUBLISH_MS, STATE_HEARTBEAT_MS, STATE_MAXLEN, STATE_SNAPSHOT_MIN_MS } from './state-publisher.ts';
export type { StateSource } from './state-publisher.ts';
export { LiveReadModel } from './read-model.ts';
export { registerGatewayReads, GATEWAY_READS } from './routes.ts';
export type { GatewayReadsContext } from './routes.ts';
export { readsKeys } from './keys.ts';
