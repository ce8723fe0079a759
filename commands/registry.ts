/**
 * The subcommands, in `--help` order, each loaded only when it runs: `--version`
 * and `--help` load none of them (nor zod).
 */
import type { CommandSpec } from "../lib/cli/mod.ts";

/** A subcommand as the dispatcher knows it before loading it. */
export interface CommandEntry {
  /** Name used on the command line. */
  name: string;
  /** One line for the tool's `--help`. */
  summary: string;
  /** Loads its module. */
  load: () => Promise<CommandSpec>;
}

/** Every subcommand. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "upgrade",
    summary:
      "run the requested upgrade (ExecStart of grapheon-upgrade.service), or resume an interrupted one",
    load: async () => (await import("./upgrade.ts")).upgradeCommand,
  },
  {
    name: "rollback",
    summary:
      "go back to the previous release (or --to X.Y.Z), optionally restoring a database snapshot",
    load: async () => (await import("./rollback.ts")).rollbackCommand,
  },
  {
    name: "status",
    summary: "what runs, pending request, last status, history, backups, and problems with fixes",
    load: async () => (await import("./status.ts")).statusCommand,
  },
  {
    name: "request",
    summary: "write an upgrade request exactly as the web UI does (starts grapheon-upgrade.path)",
    load: async () => (await import("./request.ts")).requestCommand,
  },
  {
    name: "history",
    summary: "upgrades and rollbacks: from → to, result, duration, who",
    load: async () => (await import("./history.ts")).historyCommand,
  },
  {
    name: "health",
    summary: "poll health URLs until they pass or a deadline (for scripts and ExecStartPost)",
    load: async () => (await import("./health.ts")).healthCommand,
  },
  {
    name: "config",
    summary: "print the effective config, or validate a config file (--check FILE)",
    load: async () => (await import("./config.ts")).configCommand,
  },
  {
    name: "install",
    summary: "install the tool, its systemd units and a default config on a plain systemd host",
    load: async () => (await import("./install.ts")).installCommand,
  },
  {
    name: "uninstall",
    summary: "remove exactly what install wrote (never the data)",
    load: async () => (await import("./uninstall.ts")).uninstallCommand,
  },
  {
    name: "disko",
    summary:
      "check a disko layout (check FILE|--flake), classify layout changes (diff), guard switches",
    load: async () => (await import("./disko.ts")).diskoCommand,
  },
];
