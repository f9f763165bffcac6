import type { CliIo } from './cli-io.ts';

/** Where a command's results go: stdout, as JSON with --json or as text for people. */
export class CliOutput {
  constructor(private readonly io: CliIo) {}

  write(text: string): void {
    this.io.stdout.write(text);
  }

  /** One result: pretty JSON with --json, else the line `text`. */
  print(json: boolean, value: unknown, text: string): void {
    this.write(json ? JSON.stringify(value, null, 2) + '\n' : text + '\n');
  }

  /** Rows as an aligned plain-text table. */
  table(headers: string[], rows: string[][]): void {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    this.write([line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n');
  }
}
