/** The CLI commands: `serve`, `migrate`, `doctor`, and every module's own (from its manifest). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { buildApp } from '../app.js';
import { assertSharedKeystore, ConfigError, describeConfig, loadConfig } from '../config/env.js';
import { markServingStores } from '../db/serving-marker.js';
import { type Kluis, openKluis } from '../kluis.js';
import { modules } from '../modules/index.js';
import { startConfiguredInboundSmtp } from '../modules/intake/index.js';
import { startJobWorker } from '../modules/jobs/index.js';
import { startDevMail } from '../modules/mail/mail-dev.js';
import { createCheckpoint } from '../modules/security/index.js';
import { type CliIo, withKluis } from '../shared/cli.js';
import { systemClock } from '../shared/clock.js';
import { createLogger } from '../shared/logger.js';
import { kluisVersion } from '../shared/version.js';
import { seedDemo } from './demo-seed.js';
import { doctor } from './doctor.js';

/** The real terminal: process streams, the environment, the system clock. */
export function processCliIo(): CliIo {
  return {
    env: process.env,
    out: process.stdout,
    err: process.stderr,
    clock: systemClock,
    setExitCode: (code) => {
      process.exitCode = code;
    },
    loadConfig: () => loadConfig(process.env),
    openKluis: (config, options = {}) =>
      openKluis(config, {
        logger: createLogger('silent'),
        ...(options.migrate === false ? { migrate: false } : {}),
      }),
  };
}

/**
 * Signs the audit head when the server stops, so the entries of its last minutes are covered by
 * a checkpoint and the witness (not only by the next scheduled one). A broken chain is reported,
 * never signed; the shutdown goes on.
 */
async function signAuditHeadAtShutdown(kluis: Kluis, io: CliIo): Promise<void> {
  try {
    const cp = await createCheckpoint(kluis);
    if (cp.created) io.err.write(`audit head signed at seq ${cp.seq}\n`);
  } catch (error) {
    io.err.write(
      `! could not sign the audit head at shutdown: ${error instanceof Error ? error.message : 'unknown error'}\n`,
    );
  }
}

export function registerCommands(program: Command, io: CliIo = processCliIo()): void {
  program.version(kluisVersion());

  program
    .command('serve')
    .description('run the web app (and, unless --no-worker, the job worker) in this process')
    .option('--demo', 'seed a demo operator organisation and admin user when the database is empty')
    .option('--no-worker', 'do not run jobs in this process (run `kluis worker` separately)')
    .action(async (opts: { demo?: boolean; worker: boolean }) => {
      const config = io.loadConfig();
      if (!opts.worker) assertSharedKeystore(config, 'kluis serve --no-worker');
      const devMail = await startDevMail(config);
      const kluis = await openKluis(config, devMail ? { mailer: devMail.mailer } : {});
      const relayProblem = await relayStartProblem(kluis);
      if (relayProblem !== undefined) {
        io.err.write(`Kluis does not start: ${relayProblem}\n`);
        io.setExitCode(1);
        await devMail?.sink.close();
        await kluis.close();
        return;
      }
      const relay = await kluis.services.register.egress.relayDecision(kluis.mailer.relay);
      const app = await buildApp(kluis, {
        ...(devMail ? { modules: [...kluis.modules, devMail.module] } : {}),
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
      // `backup restore` refuses while this process serves from these files.
      const unmark = markServingStores([config.databaseUrl, config.keystoreUrl], kluis.clock.now());
      const shutdown = async () => {
        await app.close();
        await inbound?.smtp.close();
        await worker?.stop();
        await signAuditHeadAtShutdown(kluis, io);
        await devMail?.sink.close();
        await kluis.close();
        unmark();
        process.exit(0);
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
      const described = describeConfig(config);
      io.out.write(
        [
          '',
          `Kluis ${kluisVersion()} is running (${config.env}).`,
          `  URL:       ${config.publicOrigin}  (listening on ${address})`,
          `  Database:  ${described.database} — ${described.databaseEncryption}`,
          `  Jobs:      ${worker ? 'worker running in this process' : 'no worker here (--no-worker): run kluis worker'}`,
          ...(devMail
            ? [
                `  Mail:      development sink on ${devMail.sink.url}, read at ${config.publicOrigin}/staff/dev/mail`,
              ]
            : []),
          `  Egress:    SMTP relay ${relay.destination}: ${
            relay.mode === 'subprocessor'
              ? `registered (sub-processor ${relay.subprocessor ?? ''})`
              : relay.mode === 'loopback_development'
                ? 'loopback, allowed outside production only'
                : 'NOT registered: mail is refused (register it as a receiving host of a sub-processor)'
          }`,
          ...(inbound ? [inbound.banner] : []),
          ...banner,
          '',
        ].join('\n'),
      );
    });

  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(() =>
      withKluis(io, async () => {
        io.out.write('migrations applied\n');
      }),
    );

  program
    .command('doctor')
    .description('explain the configuration and what is wrong with it')
    .action(async () => {
      io.setExitCode(await doctor(io.env, io.out));
    });

  for (const m of modules) m.cli?.(program, io);
}

export { ConfigError };

/**
 * P14: production does not start with an SMTP relay that no active sub-processor (with an
 * agreement) covers. Needs the database, so it runs at start, not in the configuration check.
 */
export async function relayStartProblem(
  kluis: Pick<Kluis, 'config' | 'mailer' | 'services'>,
): Promise<string | undefined> {
  return kluis.services.register.egress.startupProblem(kluis.mailer.relay, kluis.config.env === 'production');
}
