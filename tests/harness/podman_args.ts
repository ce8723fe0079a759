/**
 * Argument parsing and output helpers of the podman double: podman's flags
 * (value-taking or boolean, per subcommand), podman-style errors, JSON and
 * Go-template output.
 */
import type { Outcome } from "./double.ts";
import type { FaultRule } from "./state.ts";

/** Flags that take a value (the next argument unless written `--flag=value`). */
export const VALUE_FLAGS = new Set([
  "--format",
  "-f",
  "--filter",
  "--name",
  "-e",
  "--env",
  "--env-file",
  "-v",
  "--volume",
  "--network",
  "--net",
  "-p",
  "--publish",
  "-t",
  "--time",
  "--tail",
  "-n",
  "--pull",
  "--label",
  "-l",
  "--user",
  "-u",
  "--workdir",
  "-w",
  "--entrypoint",
  "--hostname",
  "--cap-add",
  "--cap-drop",
  "--security-opt",
  "--ulimit",
  "--memory",
  "-m",
  "--cpus",
  "--restart",
  "--runtime",
  "--cgroup-manager",
  "--events-backend",
  "--add-host",
  "--tmpfs",
  "--mount",
  "--userns",
  "--stop-timeout",
  "--stop-signal",
  "--log-driver",
  "--log-opt",
  "--sdnotify",
  "--pidfile",
  "--cgroups",
  "--timeout",
  "--type",
  "--since",
  "--until",
  "--retry",
  "--retry-delay",
  "--authfile",
  "--creds",
  "--arch",
  "--os",
  "--platform",
  "--tls-verify",
]);

/** Short flags that are booleans for one subcommand although another uses them with a value. */
export const BOOLEAN_SHORTS: Record<string, string[]> = {
  rm: ["-f", "-v", "-a", "-i"],
  rmi: ["-f", "-a", "-i"],
  logs: ["-f", "-t"],
  ps: ["-a", "-l", "-q", "-n"],
  ls: ["-a", "-l", "-q", "-n"],
  images: ["-a", "-q", "-n"],
  stop: ["-a", "-i", "-l"],
};

/** Parsed arguments: flags (as given) and positionals. */
export interface Parsed {
  /** Flag → values (short and long names kept as given). */
  flags: Map<string, string[]>;
  /** Positional arguments (for `run`: the image, then its command). */
  positional: string[];
}

/**
 * Parses flags; for `run`, stops at the first positional (the image).
 * `booleans` overrides VALUE_FLAGS for one subcommand (`rm -f` is --force, `inspect -f` is --format).
 */
export function parse(
  args: string[],
  stopAtFirstPositional = false,
  booleans: string[] = [],
): Parsed {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  const add = (k: string, v: string) => flags.set(k, [...(flags.get(k) ?? []), v]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (stopAtFirstPositional && positional.length > 0) {
      positional.push(a);
      continue;
    }
    if (a === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith("--") && a.includes("=")) {
      const eq = a.indexOf("=");
      add(a.slice(0, eq), a.slice(eq + 1));
    } else if (a.startsWith("-") && a.length > 1) {
      if (VALUE_FLAGS.has(a) && !booleans.includes(a)) add(a, args[++i] ?? "");
      else add(a, "true");
    } else positional.push(a);
  }
  return { flags, positional };
}

/** Every value given for any of the flag names. */
export function values(p: Parsed, ...names: string[]): string[] {
  return names.flatMap((n) => p.flags.get(n) ?? []);
}

/** True if any of the flags was given. */
export function has(p: Parsed, ...names: string[]): boolean {
  return names.some((n) => p.flags.has(n));
}

/** JSON as podman prints it. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 4) + "\n";
}

/** podman's "image not known" failure. */
export function imageNotKnown(ref: string): Outcome {
  return { code: 125, stderr: `Error: ${ref}: image not known\n` };
}

/** podman's "no such container" failure. */
export function noSuchContainer(name: string): Outcome {
  return {
    code: 125,
    stderr: `Error: no container with name or ID "${name}" found: no such container\n`,
  };
}

/** An injected failure: the fault's code and text, else the defaults. */
export function failWith(fault: FaultRule, code: number, stderr: string): Outcome {
  return { code: fault.code ?? code, stderr: (fault.stderr ?? stderr).replace(/\n?$/, "\n") };
}

/** Renders `{{.A.B}}` Go-template placeholders against a value (enough for inspect formats). */
export function template(format: string, value: unknown): string {
  return format.replace(/\{\{\s*\.([A-Za-z0-9_.]+)\s*\}\}/g, (_, path: string) => {
    let v: unknown = value;
    for (const k of path.split(".")) {
      const o = v as Record<string, unknown> | undefined;
      // Go templates name struct fields (Store.GraphRoot) where the JSON has store.graphRoot.
      const key = o && Object.keys(o).find((x) => x.toLowerCase() === k.toLowerCase());
      v = key === undefined ? undefined : o?.[key];
    }
    return typeof v === "object" ? JSON.stringify(v) : String(v ?? "<no value>");
  });
}
