#!/usr/bin/env node
/**
 * `kluis`: the command line. Each command loads and validates the configuration first, so a
 * misconfiguration is reported as a list of what to set, never as a stack trace.
 */
import { Command } from 'commander';
import { registerCommands } from './cli/commands.js';
import { ConfigError } from './config/env.js';

const program = new Command();
program.name('kluis').description('Kluis: keeps a privacy statement’s promises in code').showHelpAfterError();
registerCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n\nRun \`kluis doctor\` for an explanation of every setting.\n`);
    process.exit(78);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`kluis: ${message}\n`);
  process.exit(1);
});
