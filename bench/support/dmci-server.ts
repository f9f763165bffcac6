import { startApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config/config.ts';
import { createLogger } from '../../server/log/logger.ts';
import { answerLoopDelayProbes } from './loop-delay-probe.ts';
import { answerMemoryProbes } from './memory-probe.ts';

/** A dmci node in a child process, configured through the environment, reporting its ports, memory and event-loop delay over IPC. */
const config = loadConfig();
const app = await startApp({ config, log: createLogger(config.DMCI_LOG_LEVEL), databaseUrl: config.DATABASE_URL! });
answerMemoryProbes(() => ({ open: app.gateway.connectionCount }));
answerLoopDelayProbes();
process.on('message', (message: { type?: string }) => {
  if (message?.type === 'stop') void app.stop().then(() => process.exit(0));
});
process.send?.({ type: 'ready', port: app.port, opsPort: app.opsPort });
