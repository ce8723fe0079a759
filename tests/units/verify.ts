/**
 * Test helper: runs `systemd-analyze verify` on unit files and returns the
 * problems it reports about them. Without systemd-analyze the caller skips
 * visibly, except under CI=true where the tests must fail instead.
 */
import { run } from "../../lib/host/exec.ts";

/** True when `systemd-analyze` can be run. */
export async function haveSystemdAnalyze(): Promise<boolean> {
  try {
    const r = await run(["systemd-analyze", "--version"], { timeoutMs: 10_000 });
    return r.code === 0;
  } catch {
    return false;
  }
}

/** Whether a verify test must be ignored (tool missing, not in CI); throws under CI=true when missing. */
export async function verifyUnavailable(): Promise<boolean> {
  if (await haveSystemdAnalyze()) return false;
  if (Deno.env.get("CI") === "true") {
    throw new Error("systemd-analyze is missing under CI=true: run scripts/setup.sh");
  }
  return true;
}

/**
 * Runs `systemd-analyze verify --man=no` on `files`; resolves to the exit code
 * and the stderr lines that mention one of the files (warnings such as unknown
 * keys do not change the exit code, so both matter).
 */
export async function verifyUnits(files: string[]): Promise<{ code: number; problems: string[] }> {
  const r = await run(["systemd-analyze", "verify", "--man=no", ...files], { timeoutMs: 60_000 });
  const names = files.map((f) => f.split("/").pop()!);
  const problems = (r.stderr + r.stdout).split("\n").filter((line) =>
    line.trim() && names.some((n) => line.includes(n))
  );
  return { code: r.code, problems };
}
