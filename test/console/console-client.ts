/**
 * A minimal browser stand-in for the console's plain-HTTP tests: a cookie
 * jar, no redirects followed, forms posted with the console's Origin.
 */
export class ConsoleHttp {
  readonly cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  get origin(): string {
    return new URL(this.base).origin;
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(this.cookies.size ? { cookie: this.cookieHeader() } : {}), ...init.headers };
    const response = await fetch(this.base + path, { method: init.method ?? 'GET', headers, body: init.body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (/max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(path, { headers });
  }

  /** Posts a form as a page of the console would (Origin set) unless told otherwise. */
  post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin, ...headers },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async login(login: string, password: string): Promise<Response> {
    const page = await this.get('/login');
    const token = /name="token" value="([^"]+)"/.exec(await page.text())![1]!;
    return this.post('/login', { token, login, password });
  }

  /** The CSRF token the page at `path` carries. */
  async csrf(path = '/'): Promise<string> {
    const text = await (await this.get(path)).text();
    const match = /name="csrf" value="([^"]+)"/.exec(text);
    if (!match) throw new Error(`no CSRF token on ${path}: ${text.slice(0, 300)}`);
    return match[1]!;
  }
}
