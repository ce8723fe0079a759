/**
 * The systemd adapter: unit operations through `systemctl`, run with argv arrays.
 */
import { runChecked, type Runner } from "./exec.ts";

/** The `systemctl show` properties a service's liveness is judged on (org.freedesktop.systemd1(5)). */
export const SERVICE_STATE_PROPERTIES = [
  "ActiveState",
  "SubState",
  "NRestarts",
  "ExecMainCode",
  "ExecMainStatus",
  "MainPID",
];

/** What `systemctl show -p ActiveState -p SubState -p NRestarts -p ExecMainCode -p ExecMainStatus` said. */
export interface UnitObservation {
  /** ActiveState. */
  activeState: string;
  /** SubState. */
  subState: string;
  /** NRestarts, null when not reported. */
  nRestarts: number | null;
  /** ExecMainCode (1 exited, 2 killed, 3 dumped), null when not reported. */
  execMainCode: number | null;
  /** ExecMainStatus: the exit status or the signal number. */
  execMainStatus: number | null;
  /** MainPID: the main process now (null: none, or not reported). */
  mainPid?: number | null;
}

/** Parses a `systemctl show` record into an observation (missing numbers are null). */
export function unitObservation(props: Record<string, string>): UnitObservation | null {
  if (!props.ActiveState) return null;
  const num = (v: string | undefined) => {
    if (v === undefined || !/^\d+$/.test(v)) return null;
    return Number(v);
  };
  return {
    activeState: props.ActiveState,
    subState: props.SubState ?? "",
    nRestarts: num(props.NRestarts),
    execMainCode: num(props.ExecMainCode),
    execMainStatus: num(props.ExecMainStatus),
    mainPid: num(props.MainPID) || null,
  };
}

/** systemctl operations over a runner. */
export class Systemd {
  /** Wraps `systemctl` (or the configured program) run through `runner`. */
  constructor(private readonly runner: Runner, private readonly program = "systemctl") {}

  /** Restarts units in order, each waited for (up to `timeoutMs`). */
  async restart(units: string[], timeoutMs: number): Promise<void> {
    for (const unit of units) {
      await runChecked(this.runner, [this.program, "restart", unit], { timeoutMs });
    }
  }

  /** Stops a unit. */
  async stop(unit: string, timeoutMs: number): Promise<void> {
    await runChecked(this.runner, [this.program, "stop", unit], { timeoutMs });
  }

  /** Starts a unit. */
  async start(unit: string, timeoutMs: number): Promise<void> {
    await runChecked(this.runner, [this.program, "start", unit], { timeoutMs });
  }

  /** The unit's ActiveState (`active`, `inactive`, `failed`, …); `unknown` when systemctl fails. */
  async activeState(unit: string): Promise<string> {
    const props = await this.show(unit, ["ActiveState"]).catch(
      () => ({} as Record<string, string>),
    );
    return props.ActiveState || "unknown";
  }

  /** The unit's state and its main process's last exit; null when systemctl cannot say. */
  async serviceState(unit: string): Promise<UnitObservation | null> {
    const props = await this.show(unit, SERVICE_STATE_PROPERTIES).catch(() => null);
    return props ? unitObservation(props) : null;
  }

  /** `systemctl show -p A -p B unit` as a record. */
  async show(unit: string, properties: string[]): Promise<Record<string, string>> {
    const argv = [this.program, "show", unit];
    for (const p of properties) argv.push("-p", p);
    const r = await runChecked(this.runner, argv, { timeoutMs: 15_000 });
    const out: Record<string, string> = {};
    for (const line of r.stdout.split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
  }

  /** `systemctl daemon-reload`. */
  async daemonReload(): Promise<void> {
    await runChecked(this.runner, [this.program, "daemon-reload"], { timeoutMs: 60_000 });
  }

  /** `systemctl enable --now units…`. */
  async enableNow(units: string[]): Promise<void> {
    if (units.length === 0) return;
    await runChecked(this.runner, [this.program, "enable", "--now", ...units], {
      timeoutMs: 120_000,
    });
  }

  /** `systemctl disable --now units…` (absent units are not an error). */
  async disableNow(units: string[]): Promise<void> {
    if (units.length === 0) return;
    await this.runner([this.program, "disable", "--now", ...units], { timeoutMs: 120_000 });
  }
}

/**
 * The last journal lines written by a unit's own processes
 * (`journalctl _SYSTEMD_UNIT=UNIT -n N -o cat --no-pager`, journalctl(1)): what its
 * foreground `podman run` printed, the only log left of a `--rm` container that exited.
 * Empty when journalctl fails.
 */
export async function journalTail(
  runner: Runner,
  options: { journalctl: string; unit: string; lines: number },
): Promise<string> {
  const argv = [options.journalctl, `_SYSTEMD_UNIT=${options.unit}`, "-n", String(options.lines)];
  argv.push("-o", "cat", "--no-pager");
  const r = await runner(argv, { timeoutMs: 15_000 }).catch(() => null);
  return r && r.code === 0 ? r.stdout.trim() : "";
}
