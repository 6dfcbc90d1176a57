/** Live frames to viewers: the `StreamHub` (one coalescer per view, frame ring, catch-up) and the Socket.io / raw ws transports. */
export { EventRateLimiter, SocketGateway } from './sockets.ts';
export { StreamHub, Subscriber, ViewCoalescer } from './streaming.ts';
export type { FrameSink, StreamStats } from './streaming.ts';
export { controlDoor } from './socket-door.ts';
export type { SocketDoor } from './socket-door.ts';
export type { FrameSource } from './streaming.ts';
export { FramePublisher, fanoutFromEnv, fanoutKeys, DEFAULT_FANOUT_PREFIX, DEFAULT_FANOUT_MAXLEN, connectFanoutRedis, followStream, reachRedis, FanoutUnavailableError } from './fanout.ts';
export type { FanoutSettings } from './fanout.ts';
export { RelayHub } from './relay-hub.ts';
