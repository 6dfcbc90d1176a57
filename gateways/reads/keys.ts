/**
 * Redis keys of gateway reads, under the fan-out prefix (`STRATUM_FANOUT_PREFIX`) beside the frame
 * keys of stream/fanout.ts: `<p>:topology` (hash: `etag`, `body` — the engine's `GET /api/topology`),
 * `<p>:state` (stream: live state entries, state-codec.ts), `<p>:state-requests` (stream: a gateway
 * asks for a snapshot).
 */
export function readsKeys(prefix: string) {
  return {
    topology: `${prefix}:topology`,
    state: `${prefix}:state`,
    stateRequests: `${prefix}:state-requests`,
  };
}
