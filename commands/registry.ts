/** The list of subcommands `main.ts` dispatches to, in `--help` order. */
import type { CommandSpec } from "../lib/cli.ts";
import { configCommand } from "./config.ts";

/** Every subcommand. */
export const COMMANDS: readonly CommandSpec[] = [
  configCommand,
];
