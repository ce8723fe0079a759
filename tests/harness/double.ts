/**
 * The driver shared by the podman and systemctl doubles: records the call,
 * applies fault rules, runs the command's handler under the state lock and
 * prints its result.
 *
 * Faults (rules in `state.faults`, first match that fires wins):
 * - `fail`: the handler runs with the rule and fails the way the real program
 *   does for that command (systemctl restart still stops the old container);
 * - `hang`: prints what the real program prints first, then sleeps `ms`
 *   (default one hour) without holding the lock, so the tool's timeout kills it;
 * - `delay`: sleeps `ms`, then runs normally;
 * - `kill-tool`: SIGKILLs the tool process (see `killTool`), before the command
 *   does anything (`when: "before"`, the default) or after it completed.
 */
import { basename } from "node:path";
import {
  type Call,
  type FaultRule,
  type HarnessState,
  procCmdline,
  procStat,
  sleep,
  statePath,
  withState,
} from "./state.ts";

/** What a handler returns. */
export interface Outcome {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout?: string;
  /** Standard error. */
  stderr?: string;
  /** Work to do after the state lock is released (a oneshot unit's command); its outcome replaces this one. */
  after?: () => Promise<Outcome>;
}

/** A command handler: runs under the state lock. */
export type Handler = (
  state: HarnessState,
  args: string[],
  fault: FaultRule | null,
) => Outcome | Promise<Outcome>;

/** Text a hanging command prints before it hangs. */
export type HangPreamble = (args: string[]) => string;

function matches(rule: FaultRule, argv: string[]): boolean {
  if (rule.match.length > argv.length) return false;
  return rule.match.every((m, i) => m === "*" || m === argv[i]);
}

/** Finds the rule that fires on `argv` and updates its counters. */
export function pickFault(state: HarnessState, argv: string[]): FaultRule | null {
  for (const rule of state.faults) {
    if (!matches(rule, argv)) continue;
    rule.seen = (rule.seen ?? 0) + 1;
    if (rule.seen <= (rule.skip ?? 0)) continue;
    if (rule.times !== undefined && (rule.fired ?? 0) >= rule.times) continue;
    rule.fired = (rule.fired ?? 0) + 1;
    return rule;
  }
  return null;
}

/**
 * SIGKILLs the tool: walks the parent chain from this double (via
 * /proc/<pid>/stat) to the first process whose command line contains
 * `main.ts` or `grapheon-tool`. Returns its PID, or null if there is none
 * (the double was not run by the tool).
 */
export function killTool(): number | null {
  let pid = procStat(Deno.pid)?.ppid ?? 0;
  while (pid > 1) {
    const cmd = procCmdline(pid);
    if (/(^|[\s/])main\.ts(\s|$)|grapheon-tool/.test(cmd)) {
      Deno.kill(pid, "SIGKILL");
      return pid;
    }
    pid = procStat(pid)?.ppid ?? 0;
  }
  return null;
}

function print(o: Outcome): void {
  const enc = new TextEncoder();
  if (o.stdout) Deno.stdout.writeSync(enc.encode(o.stdout));
  if (o.stderr) Deno.stderr.writeSync(enc.encode(o.stderr));
}

async function finish(dir: string, seq: number, code: number): Promise<void> {
  await withState(dir, (s) => {
    const call = s.calls.find((c) => c.seq === seq);
    if (call) call.code = code;
  });
}

/** Runs one double invocation and exits with its code. */
export async function runDouble(
  program: string,
  handler: Handler,
  hangPreamble: HangPreamble = () => "",
): Promise<never> {
  const dir = Deno.env.get("GRAPHEON_HARNESS_STATE");
  if (!dir) {
    console.error(`${program} (harness double): GRAPHEON_HARNESS_STATE is not set`);
    Deno.exit(97);
  }
  try {
    Deno.statSync(statePath(dir));
  } catch {
    console.error(`${program} (harness double): no harness state in ${dir} (closed harness?)`);
    Deno.exit(97);
  }
  const args = [...Deno.args];
  const argv = [basename(program), ...args];
  // SIGTERM (the tool's timeout or abort) ends a waiting double at once, but a
  // change of the state finishes first: like systemd finishing a job whose
  // client died, and so the state never disagrees with the processes.
  let critical = true;
  let terminated = false;
  let seq = 0;
  const onTerm = () => {
    terminated = true;
    if (!critical) finish(dir, seq, 143).finally(() => Deno.exit(143));
  };
  Deno.addSignalListener("SIGTERM", onTerm);
  Deno.addSignalListener("SIGINT", onTerm);
  const exitIfTerminated = async () => {
    if (!terminated) return;
    await finish(dir, seq, 143);
    Deno.exit(143);
  };
  const first = await withState(dir, (s) => {
    const call: Call = {
      seq: s.calls.length + 1,
      argv,
      pid: Deno.pid,
      at: new Date().toISOString(),
    };
    const fault = pickFault(s, argv);
    if (fault) call.fault = fault.action;
    s.calls.push(call);
    return { seq: call.seq, fault };
  });
  seq = first.seq;
  const fault = first.fault;
  if (fault?.action === "kill-tool" && fault.when !== "after") {
    const killed = killTool();
    await finish(dir, seq, 137);
    if (killed === null) {
      console.error(
        `${argv[0]} (harness double): kill-tool fault but no main.ts in the parent chain`,
      );
      Deno.exit(98);
    }
    Deno.exit(137);
  }
  critical = false;
  await exitIfTerminated();
  if (fault?.action === "hang") {
    print({ code: 0, stderr: hangPreamble(args) });
    await sleep(fault.ms ?? 3_600_000);
    await finish(dir, seq, 1);
    Deno.exit(1);
  }
  if (fault?.action === "delay") await sleep(fault.ms ?? 1000);
  critical = true;
  const failRule = fault?.action === "fail" ? fault : null;
  let outcome: Outcome;
  try {
    outcome = await withState(dir, async (s) => {
      const o = await handler(s, args, failRule);
      const call = s.calls.find((c) => c.seq === seq);
      if (call) call.code = o.code;
      return o;
    });
  } catch (err) {
    outcome = { code: 125, stderr: `Error: harness double failed: ${String(err)}\n` };
    await finish(dir, seq, outcome.code);
  }
  critical = false;
  await exitIfTerminated();
  if (outcome.after) {
    outcome = await outcome.after();
    await finish(dir, seq, outcome.code);
  }
  print(outcome);
  if (fault?.action === "kill-tool") killTool();
  Deno.exit(outcome.code);
}
