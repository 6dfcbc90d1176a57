import type { GateDecision } from '../engine/index.ts';
import type { Ledger, LedgerEntry } from './ledger.ts';

/** Who signs the trust gate's entries in the ledger. */
export const GATE_WHO = 'trust-gate';
export const GATE_ROLE = 'automation';

/**
 * Appends one gate decision to the ledger (kind `gate`): what automation wanted to do, the trust it
 * had, PASS/HOLD/BLOCK, the outcome and the weakest feed's reasons. Every decision is recorded,
 * PASS included, so an audit can show that an automatic action had data it could trust.
 *
 * @example
 * recordGateDecision(ledger, gateAction({ action: 'shed', target: 'sub-3', atMs }, feeds));
 */
export function recordGateDecision(ledger: Ledger, decision: GateDecision): LedgerEntry {
  return ledger.append('gate', GATE_WHO, GATE_ROLE, decision);
}
