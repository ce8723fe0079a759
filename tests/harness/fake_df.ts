/**
 * The df double (run through tests/harness/bin/df): answers
 * `df --output=avail,size -B1 PATH` with the figures in the harness state
 * (`h.setDisk`), for any existing path; a missing path fails as df does.
 */
import { type Outcome, runDouble } from "./double.ts";
import type { FaultRule, HarnessState } from "./state.ts";

function handle(s: HarnessState, args: string[], fault: FaultRule | null): Outcome {
  if (fault) return { code: fault.code ?? 1, stderr: fault.stderr ?? "df: injected failure\n" };
  const paths = args.filter((a) => !a.startsWith("-"));
  const output = args.find((a) => a.startsWith("--output="))?.slice("--output=".length);
  if (output !== "avail,size" || !args.includes("-B1")) {
    return { code: 1, stderr: `df (harness double): only --output=avail,size -B1 is modelled\n` };
  }
  let stdout = "          Avail       1B-blocks\n";
  for (const p of paths) {
    try {
      Deno.statSync(p);
    } catch {
      return { code: 1, stdout, stderr: `df: ${p}: No such file or directory\n` };
    }
    stdout += `${String(s.disk.availBytes).padStart(15)} ${
      String(s.disk.sizeBytes).padStart(15)
    }\n`;
  }
  return { code: 0, stdout };
}

if (import.meta.main) {
  await runDouble("df", handle);
}
