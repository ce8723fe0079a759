/**
 * The journalctl double (run through tests/harness/bin/journalctl): answers the one
 * form the tool uses, `journalctl _SYSTEMD_UNIT=UNIT -n N -o cat --no-pager`
 * (journalctl(1): a FIELD=VALUE match, `-n` lines, `-o cat` message text only). A
 * container unit's journal is what its foreground `podman run` printed, i.e. its
 * container's output: the double prints the last N lines of that container's log.
 * No match prints nothing and exits 0 (journalctl says `-- No entries --` only on a tty).
 */
import { type Outcome, runDouble } from "./double.ts";
import type { FaultRule, HarnessState } from "./state.ts";

function handle(s: HarnessState, args: string[], fault: FaultRule | null): Outcome {
  if (fault) return { code: fault.code ?? 1, stderr: fault.stderr ?? "injected failure\n" };
  const match = args.find((a) => a.startsWith("_SYSTEMD_UNIT="))?.slice("_SYSTEMD_UNIT=".length);
  const n = Number(args[args.indexOf("-n") + 1] ?? "10");
  if (!match || !args.includes("-o") || args[args.indexOf("-o") + 1] !== "cat") {
    return { code: 1, stderr: "journalctl (harness double): only _SYSTEMD_UNIT= -n N -o cat\n" };
  }
  const u = s.units[match];
  const c = u?.kind === "container" ? s.containers[u.container] : undefined;
  let lines: string[] = [];
  try {
    if (c) lines = Deno.readTextFileSync(c.logFile).split("\n").filter(Boolean);
  } catch { /* no log yet */ }
  return { code: 0, stdout: lines.slice(-n).map((l) => l + "\n").join("") };
}

if (import.meta.main) {
  await runDouble("journalctl", handle);
}
