import { InvalidArgumentError } from 'commander';

const SPAN = /^(\d+)([smhd])$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A span as the CLI takes it (30s, 30m, 12h, 7d) in milliseconds, or undefined for text that is not one. */
export function spanMs(text: string): number | undefined {
  const match = SPAN.exec(text);
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : undefined;
}

/** For commander: a span, or a usage error. */
export function parseSpan(text: string): number {
  const ms = spanMs(text);
  if (ms === undefined) throw new InvalidArgumentError('give a span: 30m, 12h, 7d');
  return ms;
}
