/** The list of subcommands `main.ts` dispatches to, in `--help` order. */
import type { CommandSpec } from "../lib/cli/command.ts";
import { configCommand } from "./config.ts";
import { diskoCommand } from "./disko.ts";
import { healthCommand } from "./health.ts";
import { historyCommand } from "./history.ts";
import { installCommand } from "./install.ts";
import { requestCommand } from "./request.ts";
import { rollbackCommand } from "./rollback.ts";
import { statusCommand } from "./status.ts";
import { uninstallCommand } from "./uninstall.ts";
import { upgradeCommand } from "./upgrade.ts";

/** Every subcommand. */
export const COMMANDS: readonly CommandSpec[] = [
  upgradeCommand,
  rollbackCommand,
  statusCommand,
  requestCommand,
  historyCommand,
  healthCommand,
  configCommand,
  installCommand,
  uninstallCommand,
  diskoCommand,
];
