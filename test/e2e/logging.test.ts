import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciClient } from '../../connector-sim/client.ts';
import { CloseCode } from '../../protocol/index.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 2 §9: no password or token ever reaches a log line, and lines about a
 * connection carry connId, sessionId and userId. The server logs at debug
 * here, so every line it can write is in the capture.
 */
let server: TestServer;
const WRONG_PASSWORD = 'wrong-Secret-Attempt-91';
const ADMIN_SET_PASSWORD = 'admin-Chosen-Secret-27';
const USER_SET_PASSWORD = 'user-Chosen-Secret-58';

beforeAll(async () => {
  server = await startTestServer({ DMCI_LOG_LEVEL: 'trace' });
  await server.createAccount('lola@example.com');
  await server.createAccount('boss@example.com', DEFAULT_PASSWORD, 'global_admin');
});
afterAll(() => server.stop());

describe('logging', () => {
  it('never writes a password or token, and tags connection lines with connId, sessionId and userId', async () => {
    const secrets: string[] = [DEFAULT_PASSWORD, WRONG_PASSWORD, ADMIN_SET_PASSWORD, USER_SET_PASSWORD];

    const failed = new DmciClient({ url: server.url, login: 'lola@example.com', password: WRONG_PASSWORD });
    await expect(failed.connect()).rejects.toMatchObject({ closeCode: 4002 });
    const bogusToken = 'Q'.repeat(43);
    await expect(new DmciClient({ url: server.url, resumeToken: bogusToken }).connect()).rejects.toMatchObject({ closeCode: 4002 });
    secrets.push(bogusToken);

    const lola = await server.connect('lola@example.com');
    const lolaToken = lola.welcome!.resumeToken;
    secrets.push(lolaToken);
    await lola.close();
    const resumed = new DmciClient({ url: server.url, resumeToken: lolaToken });
    const welcome = await resumed.connect();
    secrets.push(welcome.resumeToken);
    await expect(resumed.call('Core/echo', { payload: 1, password: DEFAULT_PASSWORD })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    const changed = await resumed.request('Account/changePassword', { currentPassword: DEFAULT_PASSWORD, newPassword: USER_SET_PASSWORD });
    secrets.push(changed.resumeToken);
    await expect(resumed.request('Account/changePassword', { currentPassword: WRONG_PASSWORD, newPassword: USER_SET_PASSWORD })).rejects.toMatchObject({ code: 'FORBIDDEN' });

    const boss = await server.connect('boss@example.com');
    const bossSessionId = boss.welcome!.sessionId;
    secrets.push(boss.welcome!.resumeToken);
    await boss.request('Admin/accountSetPassword', { email: 'lola@example.com', password: ADMIN_SET_PASSWORD });
    await expect(boss.call('Admin/accountCreate', { email: 'bad', displayName: 'x', password: ADMIN_SET_PASSWORD })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    await boss.close();
    await resumed.close();

    // Tokens in any encoding the server handles: as sent, and their stored SHA-256.
    const forms = secrets.flatMap((s) => [s, createHash('sha256').update(s).digest('hex'), createHash('sha256').update(s).digest('base64')]);
    const lines = server.logLines();
    const text = lines.map((line) => JSON.stringify(line)).join('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of forms) expect(text.includes(secret), `a log line contains ${secret.slice(0, 6)}…`).toBe(false);

    const failure = lines.find((l) => l.msg === 'authentication failed');
    expect(failure).toMatchObject({ connId: expect.any(String), method: 'password', reason: 'bad_credentials', login: 'lola@example.com', remoteAddress: '127.0.0.1' });
    // Close codes: boss closed his own session (1000); the admin's password reset closed lola's resumed one from the server side.
    const closedLine = async (sessionId: string) => {
      for (let tries = 0; tries < 100; tries++) {
        const line = server.logLines().find((l) => l.msg === 'session closed' && l.sessionId === sessionId);
        if (line) return line;
        await new Promise((resolve) => setTimeout(resolve, 50)); // the server logs once its side of the socket closed
      }
      return undefined;
    };
    expect(await closedLine(bossSessionId)).toMatchObject({ closeCode: 1000, closedBy: 'client' });
    expect(await closedLine(welcome.sessionId)).toMatchObject({ closeCode: CloseCode.SESSION_REVOKED, closedBy: 'server' });
    const opened = lines.filter((l) => l.msg === 'session opened');
    expect(opened.length).toBeGreaterThanOrEqual(3);
    for (const line of opened) expect(line).toMatchObject({ connId: expect.any(String), sessionId: expect.any(String), userId: expect.any(String) });
    const refused = lines.find((l) => l.msg === 'request refused' && l.code === 'FORBIDDEN');
    expect(refused).toMatchObject({ connId: expect.any(String), sessionId: welcome.sessionId, userId: welcome.account.id, method: 'Account/changePassword' });
    for (const line of lines) expect(line).toMatchObject({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) });
  });
});
