import type { Control, Principal } from '../door/index.ts';
import type { ClockInfo } from '../protocol.ts';

/**
 * Where the socket transports send inputs (`command`, `clock`) and read the clock: the one door of
 * this process (`controlDoor`), or — in a gateway process — the engine's door over HTTP
 * (`RemoteDoor` in engine-client.ts), so every input still passes the engine's `Control`.
 */
export interface SocketDoor {
  /** The live clock as last known (a gateway: the last one the engine published). */
  clockInfo(): ClockInfo;
  /**
   * An input from a socket. A refusal throws (this process) or rejects (remote) with an edge error;
   * the promise resolves once the journal holds the input (the acknowledgement's guarantee).
   */
  command(principal: Principal, token: string | undefined, command: unknown, via: string): Promise<{ seq: number; time: number }>;
  clock(principal: Principal, token: string | undefined, request: unknown, via: string): ClockInfo | Promise<ClockInfo>;
}

/** The door of this process: `Control`, unchanged (the token is not needed: the principal is). */
export function controlDoor(control: Control): SocketDoor {
  return {
    clockInfo: () => control.clockInfo(),
    command: (principal, _token, command, via) => {
      const entry = control.command(principal, command, via);
      return control.engine.journal.whenDurable().then(() => ({ seq: entry.seq, time: entry.time }));
    },
    clock: (principal, _token, request, via) => control.clock(principal, request, via),
  };
}
