/**
 * The systemd adapter: unit operations through `systemctl`, run with argv arrays.
 */
import { runChecked, type Runner } from "./exec.ts";

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
