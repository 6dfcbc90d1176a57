import { describe, expect, it } from 'vitest';
import { operatorRoute, ROUTES } from './client.ts';
import { formatMoney } from '../format.ts';
import type { SessionInfo } from '../model.ts';

const session = (over: Partial<SessionInfo> = {}): SessionInfo => ({
  id: 's-1',
  kind: 'training',
  recording: 'rec',
  createdBy: 'tina',
  viewers: 1,
  phase: 'handed-over',
  clock: { nowMs: 0, endMs: 3_600_000, speed: 1, paused: false },
  handoverMs: 600_000,
  ...over,
});

describe('operator actions go where the source on screen takes them', () => {
  it('live: the asset routes, with the share and the linked target in the body', () => {
    expect(operatorRoute(null, null, { action: 'isolate', target: 'pw/1' })).toEqual({ path: '/api/assets/pw%2F1/isolate', body: undefined });
    expect(operatorRoute(null, null, { action: 'shed', target: 'a', share: 0.2 })).toEqual({ path: ROUTES.operate('a', 'shed'), body: { share: 0.2 } });
    expect(operatorRoute(null, null, { action: 'reroute', target: 'a', to: 'b', share: 0.3 })).toEqual({ path: '/api/assets/a/reroute', body: { share: 0.3, to: 'b' } });
  });

  it('a training session after the handover: the session action route, never the live one', () => {
    expect(operatorRoute('s-1', session(), { action: 'reroute', target: 'a', to: 'b', share: 0.5 })).toEqual({ path: '/api/sessions/s-1/actions', body: { action: 'reroute', target: 'a', share: 0.5, to: 'b' } });
  });

  it('a replay, a training before handover, or a session not yet described takes no action', () => {
    expect(operatorRoute('s-1', session({ kind: 'replay', phase: 'replaying' }), { action: 'isolate', target: 'a' })).toBeNull();
    expect(operatorRoute('s-1', session({ phase: 'replaying' }), { action: 'isolate', target: 'a' })).toBeNull();
    expect(operatorRoute('s-1', null, { action: 'isolate', target: 'a' })).toBeNull();
    expect(operatorRoute('s-2', session(), { action: 'isolate', target: 'a' })).toBeNull();
  });
});

describe('formatMoney', () => {
  it('abbreviates millions and thousands, with the currency sign or code', () => {
    expect(formatMoney(1_234_567)).toBe('€1.2 M');
    expect(formatMoney(350_400, 'EUR')).toBe('€350 k');
    expect(formatMoney(4200)).toBe('€4,200');
    expect(formatMoney(-2_500_000)).toBe('−€2.5 M');
    expect(formatMoney(3.2e9)).toBe('€3.2 bn');
    expect(formatMoney(1_200_000, 'CHF')).toBe('CHF 1.2 M');
  });
});
