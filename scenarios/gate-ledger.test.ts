import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gateAction, trustScore, type FeedObservation } from '../engine/index.ts';
import { recordGateDecision } from './gate-ledger.ts';
import { Ledger, verifyLedgerFile } from './ledger.ts';

const feed = (over: Partial<FeedObservation>): FeedObservation => ({
  id: 'br-1', nowS: 10, lastReadingAtS: 10, expectedIntervalS: 1, received: 10, expected: 10,
  normalizedResidual: 0.5, removedAsBadData: false, recentValues: [1, 2, 1.5], sigma: 1, ...over,
});

describe('gate decisions in the ledger', () => {
  it('every decision (PASS, HOLD, BLOCK) is a chained `gate` entry carrying trust, verdict, outcome and reasons; the file verifies', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stratum-gate-')), 'ledger.ndjson');
    const ledger = new Ledger(file, () => new Date('2026-12-04T23:00:00Z'));
    const decisions = [
      gateAction({ action: 'shed', target: 'sub-1', atMs: 1000 }, [trustScore(feed({}))]),
      gateAction({ action: 'shed', target: 'sub-2', atMs: 2000 }, [trustScore(feed({ id: 'br-2', received: 1 }))]),
      gateAction({ action: 'isolate', target: 'sub-3', atMs: 3000 }, [trustScore(feed({ id: 'br-3', removedAsBadData: true, normalizedResidual: 30 }))]),
    ];
    expect(decisions.map((d) => d.verdict)).toEqual(['PASS', 'HOLD', 'BLOCK']);
    for (const d of decisions) recordGateDecision(ledger, d);
    const verdict = verifyLedgerFile(file);
    expect(verdict.ok).toBe(true);
    expect(verdict.entries.map((e) => [e.kind, e.who, e.role])).toEqual(Array(3).fill(['gate', 'trust-gate', 'automation']));
    const blocked = verdict.entries[2]!.payload as Record<string, unknown>;
    expect(blocked).toMatchObject({ action: 'isolate', target: 'sub-3', verdict: 'BLOCK', outcome: 'refuse', trust: 0, weakestFeed: 'br-3' });
    expect(readFileSync(file, 'utf8')).toContain('removed by the estimator as bad data (normalised residual 30.0)');
  });
});
