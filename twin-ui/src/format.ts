/** Formatting helpers shared by the panels. */

export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const hms = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return d > 0 ? `day ${d + 1} ${hms}` : hms;
}

export function formatPeople(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)} k`;
  return Math.round(n).toLocaleString('en-GB');
}

export function formatSpeed(speed: number): string {
  return speed >= 10 ? `×${Math.round(speed)}` : `×${speed.toFixed(speed % 1 === 0 ? 0 : 1)}`;
}

const CURRENCY_SIGNS: Readonly<Record<string, string>> = { EUR: '€', GBP: '£', USD: '$' };

/** Money for the headline: €1.2 M, €350 k, €4,200 (other currencies: CHF 1.2 M). */
export function formatMoney(n: number, currency = 'EUR'): string {
  const sign = n < 0 ? '−' : '';
  const unit = CURRENCY_SIGNS[currency] ?? `${currency} `;
  const v = Math.abs(n);
  const amount = v >= 1e9 ? `${(v / 1e9).toFixed(1)} bn` : v >= 1e6 ? `${(v / 1e6).toFixed(1)} M` : v >= 1e4 ? `${Math.round(v / 1e3)} k` : Math.round(v).toLocaleString('en-GB');
  return `${sign}${unit}${amount}`;
}
