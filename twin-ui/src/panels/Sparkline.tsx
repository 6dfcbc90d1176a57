/** A small SVG line of recent values; `max` fixes the scale (else the data's own maximum). */
export function Sparkline({ values, max, colour, label }: { values: readonly number[]; max?: number; colour: string; label: string }) {
  const w = 220;
  const h = 36;
  const top = Math.max(max ?? 0, ...values, 1e-9);
  const pts = values.map((v, i) => `${values.length === 1 ? w : (i / (values.length - 1)) * w},${h - (Math.min(v, top) / top) * (h - 2) - 1}`).join(' ');
  return (
    <svg className="sparkline" width={w} height={h} role="img" aria-label={`${label}: ${values.length} recent samples, latest ${values.at(-1)?.toFixed(2) ?? 'none'}`}>
      <rect x={0} y={0} width={w} height={h} fill="#101823" />
      {values.length > 0 && <polyline points={pts} fill="none" stroke={colour} strokeWidth={1.5} />}
    </svg>
  );
}
