import { useEffect, useRef } from 'react';
import { useTwin, useTwinStore } from '../context.ts';
import { displayTime } from '../store.ts';
import { formatClock, formatMoney, formatPeople, formatSpeed } from '../format.ts';

/** Always-visible numbers. Re-renders only when the throttled summary changes (a few times a second at most). */
export function Headline() {
  const summary = useTwin((s) => s.summary);
  const estimated = useTwin((s) => s.index?.relianceEstimated ?? false);
  if (!summary) return null;
  const approx = estimated ? '≈ ' : '';
  const tip = estimated ? 'Estimated from the district: the server did not send which assets each cohort relies on' : 'Population of cohorts whose supplying asset is out or below half service';
  return (
    <section className="headline" aria-label="Headline numbers" data-testid="headline">
      <div className="metric" title="Assets out of service (failed, faulted or isolated) per layer; degraded in brackets">
        <span className="label">Assets out</span>
        <span className="layers">
          {summary.byLayer.map((l) => (
            <span key={l.layer} className={`chip ${l.out > 0 ? 'bad' : l.degraded > 0 ? 'warn' : ''}`} data-layer={l.layer} data-out={l.out}>
              {l.layer} <b>{l.out}</b>
              {l.degraded > 0 && <small> ({l.degraded})</small>}
            </span>
          ))}
        </span>
      </div>
      <div className="metric" title={tip}>
        <span className="label">People without</span>
        <span className="people">
          <span data-testid="without-power" className={summary.peopleWithout.power > 0 ? 'bad' : ''}> power {approx}{formatPeople(summary.peopleWithout.power)}</span>
          <span data-testid="without-water" className={summary.peopleWithout.water > 0 ? 'bad' : ''}> water {approx}{formatPeople(summary.peopleWithout.water)}</span>
          <span data-testid="without-telecom" className={summary.peopleWithout.telecom > 0 ? 'bad' : ''}> telecom {approx}{formatPeople(summary.peopleWithout.telecom)}</span>
        </span>
      </div>
      <div className="metric" title="Hospitals not fully in service">
        <span className="label">Hospitals degraded</span>
        <b data-testid="hospitals-degraded" className={summary.hospitalsDegraded > 0 ? 'bad' : ''}>
          {summary.hospitalsDegraded} / {summary.hospitalsTotal}
        </b>
      </div>
      <Cost />
      <Clock />
    </section>
  );
}

/** Economic cost so far, from the server's summary (shown only when the server reports it). */
function Cost() {
  const cost = useTwin((s) => s.serverSummary?.cost);
  if (cost === undefined) return null;
  return (
    <div className="metric" title="Economic cost of the outage so far: lost asset service and people without services, priced by the cost model">
      <span className="label">Cost so far</span>
      <b data-testid="cost" data-total={Math.round(cost.total)} className={cost.total > 0 ? 'bad' : ''}>
        {formatMoney(cost.total, cost.currency)}
        {cost.perHour !== undefined && cost.perHour > 0 && <small data-testid="cost-rate"> · {formatMoney(cost.perHour, cost.currency)}/h now</small>}
      </b>
    </div>
  );
}

/** The simulated clock, written straight into the DOM 5 times a second (no React render). */
export function Clock() {
  const store = useTwinStore();
  const timeRef = useRef<HTMLElement>(null);
  const speedRef = useRef<HTMLElement>(null);
  useEffect(() => {
    const tick = (): void => {
      const f = store.getState().fast;
      if (timeRef.current) timeRef.current.textContent = formatClock(displayTime(f, performance.now()));
      if (speedRef.current) speedRef.current.textContent = f.paused ? 'paused' : formatSpeed(f.speed);
    };
    tick();
    const id = setInterval(tick, 200);
    return () => clearInterval(id);
  }, [store]);
  return (
    <div className="metric clock" title="Simulated time and speed (simulated seconds per real second)">
      <span className="label">Sim clock</span>
      <b ref={timeRef} data-testid="clock">
        00:00:00
      </b>
      <span ref={speedRef} className="speed" data-testid="speed" />
    </div>
  );
}
