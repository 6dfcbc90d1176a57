/** Live frames to viewers: the `StreamHub` (one coalescer per view, frame ring, catch-up) and the Socket.io / raw ws transports. */
export { EventRateLimiter, SocketGateway } from './sockets.ts';
export { StreamHub, Subscriber, ViewCoalescer } from './streaming.ts';
export type { FrameSink, StreamStats } from './streaming.ts';
