/** What the panels share to run a request and say what went wrong. */
import { useCallback, useState } from 'react';
import { useTwinStore } from '../context.ts';
import type { RequestError } from '../net/client.ts';

/** Names what failed: "Reroute 30% of pw-1 → pw-2 refused (409 conflict): cannot reroute to …". */
export function refusal(what: string, error: unknown): string {
  const e = error as Partial<RequestError> & Error;
  const status = e.status ? `${e.status} ${e.code ?? ''}`.trim() : (e.code ?? '');
  return `${what} refused${status ? ` (${status})` : ''}: ${e.message}`;
}

/**
 * `run(what, fn)` marks the panel busy while `fn` runs and turns a failure into a toast naming
 * `what` and the server's reason; resolves true when `fn` succeeded.
 */
export function useRequest(): { busy: boolean; run: (what: string, fn: () => Promise<unknown>) => Promise<boolean> } {
  const store = useTwinStore();
  const [busy, setBusy] = useState(false);
  const run = useCallback(
    async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
      setBusy(true);
      try {
        await fn();
        return true;
      } catch (e) {
        store.notify('error', refusal(what, e));
        return false;
      } finally {
        setBusy(false);
      }
    },
    [store],
  );
  return { busy, run };
}

/** The options of a speed selector: ×0.1 … ×1000. */
export function SpeedOptions({ speeds }: { speeds: readonly number[] }) {
  return (
    <>
      {speeds.map((s) => (
        <option key={s} value={s}>
          ×{s}
        </option>
      ))}
    </>
  );
}
