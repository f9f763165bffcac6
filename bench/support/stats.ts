/** Percentiles of a sample (nearest-rank), in the sample's unit. */
export function percentiles(values: number[], ps: number[] = [50, 90, 99]): Record<string, number> {
  const sorted = [...values].sort((a, b) => a - b);
  const out: Record<string, number> = {};
  for (const p of ps) out[`p${p}`] = round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN);
  out.max = round(sorted[sorted.length - 1] ?? NaN);
  return out;
}

export function median(values: number[]): number {
  return percentiles(values, [50]).p50!;
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
