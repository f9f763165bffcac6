import type { Routes } from '../console-routes.ts';
import { accountRoutes } from './accounts.ts';
import { auditRoutes } from './audit.ts';
import { dashboardPage } from './dashboard.ts';
import { directoryRoutes } from './directory.ts';
import { domainRoutes } from './domains.ts';
import { screeningRoutes } from './screening.ts';
import { sessionRoutes } from './sessions.ts';

/** Every console page (GET) and action (POST), by path. */
const all: Routes[] = [{ pages: { '/': dashboardPage }, actions: {} }, accountRoutes, domainRoutes, directoryRoutes, sessionRoutes, screeningRoutes, auditRoutes];

export const consolePages: Routes = {
  pages: Object.assign({}, ...all.map((r) => r.pages)) as Routes['pages'],
  actions: Object.assign({}, ...all.map((r) => r.actions)) as Routes['actions'],
};
