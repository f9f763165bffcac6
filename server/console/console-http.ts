import type { IncomingMessage, ServerResponse } from 'node:http';

/** The HTTP mechanics of the console door: bounded bodies, headers every answer carries, same-origin checks. */

/** A form body larger than this is refused with 413 before it is read further. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Form fields one request may carry. */
export const MAX_FORM_FIELDS = 50;

export class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The Content-Security-Policy of every answer: scripts and styles only from
 * the console's own files (no inline script or style), no frames, forms
 * post only here. The chart's inline styles are set through the DOM, which
 * CSP allows.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function securityHeaders(tls: boolean): Record<string, string> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    ...(tls ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  };
}

/** Reads an application/x-www-form-urlencoded body of at most MAX_BODY_BYTES. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new BadRequest(415, 'forms are sent as application/x-www-form-urlencoded');
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > MAX_BODY_BYTES) throw new BadRequest(413, `a form is at most ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(413, `a form is at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if ((text.match(/&/g)?.length ?? 0) >= MAX_FORM_FIELDS) throw new BadRequest(400, `a form has at most ${MAX_FORM_FIELDS} fields`);
  return new URLSearchParams(text);
}

/**
 * A state-changing request must come from a page of this console: its
 * Origin (or, lacking one, its Referer) must be this door's own origin.
 * Browsers set Origin on every cross-site POST, so a forged form fails here
 * before its CSRF token is even looked at.
 */
export function sameOrigin(req: IncomingMessage, tls: boolean): boolean {
  const host = req.headers.host;
  if (!host) return false;
  const expected = `${tls ? 'https' : 'http'}://${host}`.toLowerCase();
  const origin = req.headers.origin;
  if (origin !== undefined) return origin.toLowerCase() === expected;
  const referer = req.headers.referer;
  if (!referer) return false;
  try {
    return new URL(referer).origin.toLowerCase() === expected;
  } catch {
    return false;
  }
}

/**
 * A same-site path to come back to after a form: never another site. `//host`
 * and `/\\host` are refused, and so is any backslash, space or control
 * character: only printable ASCII but the backslash (browsers drop tabs and
 * newlines from a Location, which would turn `/<tab>/host` into `//host`).
 */
export function safeBack(value: string | null, fallback: string): string {
  if (!value || value.length > 1000 || !/^\/(?!\/)[!-[\]-~]*$/.test(value)) return fallback;
  return value;
}

export function send(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: string | Buffer, headOnly = false): void {
  if (res.headersSent) return;
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
  res.end(headOnly ? undefined : bytes);
}
