import type { AnnouncedLimits } from '../../protocol/index.ts';
import type { AccountService } from '../accounts/account.service.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { IpScreen } from '../security/ip-screen.ts';
import type { LoginGuard } from '../security/login-guard.ts';
import type { PreAuthBudget } from '../security/preauth-budget.ts';
import type { SessionRegistry } from '../sessions/session-registry.ts';
import type { Connection } from './connection.ts';
import type { Dispatcher } from './dispatcher.ts';

/** What every connection shares: one object per gateway, not per socket. */
export interface GatewayContext {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly accounts: AccountService;
  readonly sessions: SessionRegistry;
  readonly dispatcher: Dispatcher;
  readonly loginGuard: LoginGuard;
  readonly ipScreen: IpScreen;
  /** What each address may spend before authenticating. */
  readonly preAuth: PreAuthBudget;
  readonly limits: AnnouncedLimits;
  readonly supportedVersions: readonly number[];
  isDraining(): boolean;
  onIdle(connection: Connection): void;
  onConnectionClosed(connection: Connection): void;
}
