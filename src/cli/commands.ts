/** The CLI commands. Modules add theirs through `registerModuleCommands`. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { buildApp, kluisVersion } from '../app.js';
import { ConfigError, describeConfig, loadConfig } from '../config/env.js';
import { openKluis } from '../kluis.js';
import { registerAuthCommands } from '../modules/auth/auth-cli.js';
import { modules } from '../modules/index.js';
import { startConfiguredInboundSmtp } from '../modules/intake/intake-smtp.js';
import { registerJobsCommands, startJobWorker } from '../modules/jobs/jobs-commands.js';
import { startDevMail } from '../modules/mail/mail-dev.js';
import { registerOpsCommands } from '../modules/ops/ops-commands.js';
import { registerRetentionCommands } from '../modules/retention/retention-commands.js';
import { registerRightsCommands } from '../modules/rights/rights-commands.js';
import { registerSecurityCommands } from '../modules/security/security-commands.js';
import { seedDemo } from './demo-seed.js';
import { doctor } from './doctor.js';

export function registerCommands(program: Command): void {
  program.version(kluisVersion());

  program
    .command('serve')
    .description('run the web app (and, unless --no-worker, the job worker) in this process')
    .option('--demo', 'seed a demo operator organisation and admin user when the database is empty')
    .option('--no-worker', 'do not run jobs in this process (run `kluis worker` separately)')
    .action(async (opts: { demo?: boolean; worker: boolean }) => {
      const config = loadConfig();
      const devMail = await startDevMail(config);
      const kluis = await openKluis(config, devMail ? { mailer: devMail.mailer } : {});
      const app = await buildApp(kluis, {
        ...(devMail ? { modules: [...modules, devMail.module] } : {}),
        ...(config.tls
          ? {
              server: {
                https: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
              },
            }
          : {}),
      });
      const banner: string[] = [];
      if (opts.demo) banner.push(...(await seedDemo(kluis)));
      const address = await app.listen({ host: config.host, port: config.port });
      const worker = opts.worker ? await startJobWorker(kluis) : undefined;
      const inbound = await startConfiguredInboundSmtp(kluis);
      const shutdown = async () => {
        await app.close();
        await inbound?.smtp.close();
        await worker?.stop();
        await devMail?.sink.close();
        await kluis.close();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
      process.stdout.write(
        [
          '',
          `Kluis ${kluisVersion()} is running (${config.env}).`,
          `  URL:       ${config.publicOrigin}  (listening on ${address})`,
          `  Database:  ${describeConfig(config).database} — ${describeConfig(config).databaseEncryption}`,
          `  Jobs:      ${worker ? 'worker running in this process' : 'no worker here (--no-worker): run kluis worker'}`,
          ...(devMail
            ? [
                `  Mail:      development sink on ${devMail.sink.url}, read at ${config.publicOrigin}/staff/dev/mail`,
              ]
            : []),
          ...(inbound ? [inbound.banner] : []),
          ...banner,
          '',
        ].join('\n'),
      );
    });

  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(async () => {
      const kluis = await openKluis(loadConfig());
      process.stdout.write('migrations applied\n');
      await kluis.close();
    });

  program
    .command('doctor')
    .description('explain the configuration and what is wrong with it')
    .action(async () => {
      const code = await doctor(process.env, process.stdout);
      process.exitCode = code;
    });

  registerAuthCommands(program);
  registerOpsCommands(program);
  registerSecurityCommands(program);
  registerJobsCommands(program);
  registerRetentionCommands(program);
  registerRightsCommands(program);
}

export { ConfigError };
