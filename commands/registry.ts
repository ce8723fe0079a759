/** The list of subcommands `main.ts` dispatches to, in `--help` order. */
import type { CommandSpec } from "../lib/cli.ts";
import { configCommand } from "./config.ts";
import { healthCommand } from "./health.ts";

/** Every subcommand. */
export const COMMANDS: readonly CommandSpec[] = [
  healthCommand,
  configCommand,
];
