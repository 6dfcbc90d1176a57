// Types of the generated bundle (bin/load-build.mjs): the wire protocol itself.
export * from '../../gateways/protocol.ts';
