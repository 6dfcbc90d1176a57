import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { StudyResult } from '../../actors/index.ts';

const require = createRequire(import.meta.url);

export interface SweepRow {
  readonly parameter: string;
  readonly value: number;
  readonly result: StudyResult;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * The frame every study report shares: title, the model's rules, a summary table, chart canvases and
 * the script that draws them, with Chart.js inlined so the file opens anywhere without a network.
 */
export function reportPage(page: { title: string; rules: string; rows: ReadonlyArray<readonly [string, string]>; charts: string; script: string }): string {
  // The UMD build is not in chart.js's exports map; it sits beside the CommonJS entry.
  const chartJs = readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(page.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:980px;color:#111;background:#fff}
h1{font-size:1.4rem}table{border-collapse:collapse}td,th{padding:.2rem .8rem;border-bottom:1px solid #ddd;text-align:left}
.chart{margin:1.5rem 0}p.rules{color:#333;background:#f4f6f8;padding:.6rem .8rem;border-radius:4px}</style>
<script>${chartJs}</script></head><body>
<h1>${escapeHtml(page.title)}</h1>
<p class="rules">${escapeHtml(page.rules)}</p>
<table>${page.rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
${page.charts}
<script>
${page.script}
</script></body></html>
`;
}

/** Builds histogram bins of values in [0, 1]. */
function histogram(values: readonly number[], bins = 20): { labels: string[]; counts: number[] } {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]! += 1;
  return { labels: counts.map((_, i) => `${((i / bins) * 100).toFixed(0)}–${(((i + 1) / bins) * 100).toFixed(0)}%`), counts };
}

/**
 * A self-contained HTML report of a cascade study: the cascade size distribution, the sweep curve
 * (when there is one) and the top bottlenecks, drawn with Chart.js inlined into the page, so the
 * file opens anywhere without a network.
 */
export function studyReportHtml(title: string, result: StudyResult, sweep: readonly SweepRow[] = []): string {
  const sizes = histogram(result.perRun.map((r) => r.failedFraction));
  const metric = result.model === 'motter-lai' ? 'giantComponentFraction' : result.model === 'interdependent' ? 'mutualGiantComponentFraction' : 'failedFraction';
  const sweepData = sweep.map((row) => {
    const e = (row.result as unknown as Record<string, { mean: number; ci95: [number, number] }>)[metric]!;
    return { x: row.value, mean: e.mean, lo: e.ci95[0], hi: e.ci95[1] };
  });
  const data = {
    sizes,
    sweep: sweepData,
    sweepParameter: sweep[0]?.parameter ?? '',
    metric,
    bottlenecks: result.bottlenecks.causeMostFailures.map((b) => ({ id: b.id, value: b.caused })),
    failing: result.bottlenecks.failMostOften.map((b) => ({ id: b.id, value: b.share })),
  };
  const summaryRows: Array<[string, string]> = [
    ['model', result.model],
    ['runs', String(result.runs)],
    ['seed', String(result.seed)],
    ...Object.entries(result.parameters).map(([k, v]): [string, string] => [k, String(v)]),
    ['failed fraction', `${result.failedFraction.mean.toFixed(4)} (95% CI ${result.failedFraction.ci95.map((x) => x.toFixed(4)).join(' – ')})`],
  ];
  return reportPage({
    title,
    rules: result.rules,
    rows: summaryRows,
    charts: `<div class="chart"><canvas id="sizes" aria-label="Cascade size distribution"></canvas></div>
${sweepData.length > 0 ? '<div class="chart"><canvas id="sweep" aria-label="Sweep curve"></canvas></div>' : ''}
<div class="chart"><canvas id="bottlenecks" aria-label="Top bottlenecks"></canvas></div>`,
    script: `const data = ${JSON.stringify(data)};
new Chart(document.getElementById('sizes'), { type: 'bar', data: { labels: data.sizes.labels, datasets: [{ label: 'runs by share of assets failed', data: data.sizes.counts, backgroundColor: '#c0392b' }] }, options: { plugins: { title: { display: true, text: 'Cascade size distribution' } } } });
if (data.sweep.length > 0) new Chart(document.getElementById('sweep'), { type: 'line', data: { labels: data.sweep.map((r) => r.x), datasets: [
  { label: data.metric + ' (mean)', data: data.sweep.map((r) => r.mean), borderColor: '#1f4e79' },
  { label: '95% CI low', data: data.sweep.map((r) => r.lo), borderColor: '#9bb7d4', borderDash: [4, 4], pointRadius: 0 },
  { label: '95% CI high', data: data.sweep.map((r) => r.hi), borderColor: '#9bb7d4', borderDash: [4, 4], pointRadius: 0 }] },
  options: { plugins: { title: { display: true, text: data.metric + ' against ' + data.sweepParameter } } } });
new Chart(document.getElementById('bottlenecks'), { type: 'bar', data: { labels: data.bottlenecks.map((b) => b.id), datasets: [{ label: 'failures directly caused (all runs)', data: data.bottlenecks.map((b) => b.value), backgroundColor: '#1f4e79' }] }, options: { indexAxis: 'y', plugins: { title: { display: true, text: 'Top bottlenecks' } } } });`,
  });
}
