/** The list of subcommands `main.ts` dispatches to, in `--help` order. */
import type { CommandSpec } from "../lib/cli.ts";
import { configCommand } from "./config.ts";
import { diskoCommand } from "./disko.ts";
import { healthCommand } from "./health.ts";
import { installCommand } from "./install.ts";
import { uninstallCommand } from "./uninstall.ts";
import { upgradeCommand } from "./upgrade.ts";

/** Every subcommand. */
export const COMMANDS: readonly CommandSpec[] = [
  upgradeCommand,
  healthCommand,
  configCommand,
  installCommand,
  uninstallCommand,
  diskoCommand,
];
