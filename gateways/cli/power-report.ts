import type { DcOverloadStudyResult } from '../../actors/index.ts';
import { reportPage } from './report.ts';

/**
 * A self-contained HTML report of a dc-overload study: the distribution of dependent outages and
 * of load shed, and the branches that trip most often (Chart.js inlined: opens without a network).
 */
export function powerStudyReportHtml(title: string, result: DcOverloadStudyResult): string {
  const outages = new Map<number, number>();
  for (const r of result.perRun) outages.set(r.dependentOutages, (outages.get(r.dependentOutages) ?? 0) + 1);
  const outageBins = [...outages.entries()].sort((a, b) => a[0] - b[0]);
  const maxShed = result.perRun.reduce((m, x) => Math.max(m, x.loadShedMw), 0);
  const shedBins = new Array<number>(20).fill(0);
  for (const r of result.perRun) shedBins[Math.min(19, Math.max(0, Math.floor((r.loadShedMw / Math.max(1e-12, maxShed)) * 20)))]! += 1;
  const data = {
    outages: { labels: outageBins.map(([k]) => String(k)), counts: outageBins.map(([, c]) => c) },
    shed: { labels: shedBins.map((_, i) => `${((i / 20) * maxShed).toFixed(0)}–${(((i + 1) / 20) * maxShed).toFixed(0)} MW`), counts: shedBins },
    trips: result.tripMostOften.map((b) => ({ id: b.id, share: b.share })),
  };
  const est = (e: { mean: number; ci95: readonly [number, number] }, d: number): string => `${e.mean.toFixed(d)} (95% CI ${e.ci95[0].toFixed(d)} – ${e.ci95[1].toFixed(d)})`;
  const rows: Array<[string, string]> = [
    ['grid', result.grid],
    ['runs', String(result.runs)],
    ['seed', String(result.seed)],
    ['trigger', result.parameters.trigger],
    ['rating factor K', String(result.parameters.ratingFactor)],
    ['dependent outages', est(result.dependentOutages, 3)],
    ['load shed (MW)', est(result.loadShedMw, 2)],
    ['load shed (share)', est(result.loadShedFraction, 5)],
    ['runs with any dependent outage', result.anyDependentOutageFraction.toFixed(4)],
  ];
  return reportPage({
    title,
    rules: result.rules,
    rows,
    charts: `<div class="chart"><canvas id="outages" aria-label="Dependent outages per run"></canvas></div>
<div class="chart"><canvas id="shed" aria-label="Load shed per run"></canvas></div>
<div class="chart"><canvas id="trips" aria-label="Branches that trip most often"></canvas></div>`,
    script: `const data = ${JSON.stringify(data)};
new Chart(document.getElementById('outages'), { type: 'bar', data: { labels: data.outages.labels, datasets: [{ label: 'runs by dependent outages', data: data.outages.counts, backgroundColor: '#c0392b' }] }, options: { plugins: { title: { display: true, text: 'Dependent outages per run' } } } });
new Chart(document.getElementById('shed'), { type: 'bar', data: { labels: data.shed.labels, datasets: [{ label: 'runs by load shed', data: data.shed.counts, backgroundColor: '#e67e22' }] }, options: { plugins: { title: { display: true, text: 'Load shed per run' } } } });
new Chart(document.getElementById('trips'), { type: 'bar', data: { labels: data.trips.map((b) => b.id), datasets: [{ label: 'share of runs in which the branch tripped', data: data.trips.map((b) => b.share), backgroundColor: '#1f4e79' }] }, options: { indexAxis: 'y', plugins: { title: { display: true, text: 'Branches that trip most often' } } } });`,
  });
}
