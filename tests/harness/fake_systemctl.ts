/**
 * The systemctl double (run through tests/harness/bin/systemctl): restart,
 * start, stop, show, is-active, is-failed, is-enabled, enable/disable [--now],
 * daemon-reload, reset-failed and status for the units in the harness state.
 * A container unit runs its container the way the published units do (see
 * units.ts for the model and its limits); a oneshot runs its command (oneshot.ts).
 */
import { type Outcome, runDouble } from "./double.ts";
import { beginOneshot, type OneshotRun, parseRuns, runOneshots } from "./oneshot.ts";
import { type Container, containerRunning, type FaultRule, type HarnessState } from "./state.ts";
import { effectiveActiveState, effectiveSubState, failUnit, startUnit, stopUnit } from "./units.ts";

const VALUE_FLAGS = new Set([
  "-p",
  "--property",
  "-P",
  "-t",
  "--type",
  "-H",
  "--host",
  "-M",
  "--machine",
  "-n",
  "--lines",
  "-o",
  "--output",
  "--signal",
  "-s",
  "--job-mode",
]);

function normalize(unit: string): string {
  return /\.[a-z]+$/.test(unit) ? unit : `${unit}.service`;
}

function jobFailed(unit: string): string {
  return `Job for ${unit} failed because the control process exited with error code.\n` +
    `See "systemctl status ${unit}" and "journalctl -xeu ${unit}" for details.\n`;
}

function notFound(verb: string, unit: string): Outcome {
  return { code: 5, stderr: `Failed to ${verb} ${unit}: Unit ${unit} not found.\n` };
}

function properties(s: HarnessState, unit: string): Record<string, string> {
  const u = s.units[unit];
  if (!u) {
    return {
      Id: unit,
      LoadState: "not-found",
      ActiveState: "inactive",
      SubState: "dead",
      MainPID: "0",
    };
  }
  const c = u.kind === "container" ? s.containers[u.container] : undefined;
  const active = effectiveActiveState(s, u);
  return {
    Id: unit,
    LoadState: "loaded",
    ActiveState: active,
    SubState: effectiveSubState(s, u),
    MainPID: active === "active" && c ? String(c.pid) : "0",
    // NRestarts counts only restarts "due to Restart=" (systemd NEWS, v235), not
    // `systemctl restart`; the double simulates no restart loop, so it never rises.
    NRestarts: "0",
    // How the unit's main process (the foreground `podman run`, which exits with the
    // container's code) last ended: ExecMainCode 1 = exited (org.freedesktop.systemd1(5)),
    // 0/0 while it runs or before it ever ran.
    ...mainExit(c),
    UnitFileState: u.enabled ? "enabled" : "disabled",
    Result: (u.kind === "plain" ? u.result : undefined) ??
      (u.activeState === "failed" ? "exit-code" : "success"),
  };
}

function mainExit(c: Container | undefined): { ExecMainCode: string; ExecMainStatus: string } {
  if (!c || containerRunning(c)) return { ExecMainCode: "0", ExecMainStatus: "0" };
  return { ExecMainCode: "1", ExecMainStatus: String(c.exitCode ?? 1) };
}

async function oneshotOutcome(
  dir: string,
  runs: OneshotRun[],
  detach: boolean,
): Promise<Outcome> {
  const failed = await runOneshots(dir, runs, detach);
  return failed ? { code: 1, stderr: jobFailed(failed) } : { code: 0 };
}

async function handle(s: HarnessState, args: string[], fault: FaultRule | null): Promise<Outcome> {
  const dir = Deno.env.get("GRAPHEON_HARNESS_STATE")!;
  const props: string[] = [];
  const positional: string[] = [];
  let valueOnly = false;
  let now = false;
  let noBlock = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-p" || a === "--property" || a === "-P") {
      props.push(...(args[++i] ?? "").split(","));
      if (a === "-P") valueOnly = true;
    } else if (a.startsWith("--property=")) props.push(...a.slice(11).split(","));
    else if (a === "--value") valueOnly = true;
    else if (a === "--now") now = true;
    else if (a === "--no-block") noBlock = true;
    else if (VALUE_FLAGS.has(a)) i++;
    else if (a.startsWith("-")) continue;
    else positional.push(a);
  }
  const verb = positional[0] ?? "list-units";
  const units = positional.slice(1).map(normalize);
  if (fault && !["restart", "start", "try-restart", "reload-or-restart"].includes(verb)) {
    return {
      code: fault.code ?? 1,
      stderr: fault.stderr ?? `Failed to ${verb}: injected failure\n`,
    };
  }
  switch (verb) {
    case "restart":
    case "try-restart":
    case "reload-or-restart":
    case "start": {
      const oneshots: OneshotRun[] = [];
      for (const unit of units) {
        const u = s.units[unit];
        if (!u) return notFound(verb, unit);
        if (verb === "try-restart" && effectiveActiveState(s, u) !== "active") continue;
        if (fault) {
          await failUnit(s, unit, "injected failure");
          return { code: fault.code ?? 1, stderr: fault.stderr ?? jobFailed(unit) };
        }
        if (u.kind === "plain" && u.exec) {
          oneshots.push(await beginOneshot(s, unit, dir));
          continue;
        }
        if (verb === "start" && effectiveActiveState(s, u) === "active") continue;
        const err = await startUnit(s, unit, dir);
        if (err) return { code: 1, stderr: jobFailed(unit) };
      }
      if (oneshots.length === 0) return { code: 0 };
      return { code: 0, after: () => oneshotOutcome(dir, oneshots, noBlock) };
    }
    case "__run-oneshot": {
      // Internal: the detached runner behind `start --no-block` of a oneshot unit.
      return { code: 0, after: () => oneshotOutcome(dir, parseRuns(positional.slice(1)), false) };
    }
    case "stop": {
      for (const unit of units) {
        if (!s.units[unit]) return notFound(verb, unit);
        await stopUnit(s, unit);
      }
      return { code: 0 };
    }
    case "show": {
      let stdout = "";
      for (const unit of units) {
        const all = properties(s, unit);
        const wanted = props.length ? props : Object.keys(all);
        for (const p of wanted) {
          if (!(p in all)) continue;
          stdout += valueOnly ? `${all[p]}\n` : `${p}=${all[p]}\n`;
        }
        if (units.length > 1) stdout += "\n";
      }
      return { code: 0, stdout };
    }
    case "is-active": {
      let stdout = "";
      let code = 0;
      for (const unit of units) {
        const u = s.units[unit];
        const state = u ? effectiveActiveState(s, u) : "inactive";
        stdout += `${state}\n`;
        if (state !== "active") code = u ? 3 : 4;
      }
      return { code, stdout };
    }
    case "is-failed": {
      const failed = units.filter((u) =>
        s.units[u] && effectiveActiveState(s, s.units[u]) === "failed"
      );
      return {
        code: failed.length ? 0 : 1,
        stdout: units.map((u) => (failed.includes(u) ? "failed\n" : "active\n")).join(""),
      };
    }
    case "is-enabled": {
      const off = units.filter((u) => !s.units[u]?.enabled);
      return {
        code: off.length ? 1 : 0,
        stdout: units.map((u) => (s.units[u]?.enabled ? "enabled\n" : "disabled\n")).join(""),
      };
    }
    case "enable":
    case "disable": {
      for (const unit of units) {
        if (!s.units[unit]) return notFound(verb, unit);
        s.units[unit].enabled = verb === "enable";
        if (now && verb === "enable" && effectiveActiveState(s, s.units[unit]) !== "active") {
          if (await startUnit(s, unit, dir)) return { code: 1, stderr: jobFailed(unit) };
        }
        if (now && verb === "disable") await stopUnit(s, unit);
      }
      return { code: 0 };
    }
    case "reset-failed": {
      for (const unit of units) {
        const u = s.units[unit];
        if (u?.activeState === "failed") u.activeState = "inactive";
      }
      return { code: 0 };
    }
    case "daemon-reload":
      return { code: 0 };
    case "status": {
      let stdout = "";
      let code = 0;
      for (const unit of units) {
        const p = properties(s, unit);
        const u = s.units[unit];
        stdout +=
          `● ${unit}\n     Loaded: ${p.LoadState}\n     Active: ${p.ActiveState} (${p.SubState})\n`;
        if (u?.lastError) stdout += `   ${u.lastError}\n`;
        if (p.ActiveState !== "active") code = u ? 3 : 4;
      }
      return { code, stdout };
    }
    case "--version":
      return { code: 0, stdout: "systemd 252 (harness double)\n" };
    default:
      return { code: 1, stderr: `Unknown command verb ${verb}.\n` };
  }
}

if (import.meta.main) {
  await runDouble("systemctl", handle);
}
