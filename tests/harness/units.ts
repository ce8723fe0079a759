/**
 * What the published container units do, for the systemctl double and for the
 * harness's own set-up: start = `podman rm -f <container>` then
 * `podman run <image>:<runTag>` with the unit's env, env files, mounts and the
 * live port; stop = `podman stop -t 15 <container>` (restart does both).
 *
 * The units are modelled as podman's `--sdnotify=conmon` units: `start` waits
 * until the container has started, so a tag that resolves to no local image
 * (or an unreadable env file) fails the start (exit 1, ActiveState `failed`),
 * while a release that crashes right after starting still starts "fine" and the
 * unit then reports `activating` (Restart=always, auto-restart) because its
 * container is not running: health is refused. No restart loop is simulated.
 *
 * Other units are "plain": start/stop flip their state; one with `exec` is a
 * oneshot service (grapheon-upgrade.service) whose start runs the command.
 */
import {
  containerRunning,
  type ContainerUnit,
  type HarnessState,
  type Mount,
  type Unit,
} from "./state.ts";
import {
  parseVolume,
  readEnvFile,
  removeContainer,
  resolveImage,
  startContainer,
  stopContainer,
} from "./containers.ts";

/** ActiveState as systemd would report it now. */
export function effectiveActiveState(s: HarnessState, u: Unit): string {
  if (u.kind === "plain" || u.activeState !== "active") return u.activeState;
  const c = s.containers[u.container];
  return c && containerRunning(c) ? "active" : "activating";
}

/** SubState matching `effectiveActiveState`. */
export function effectiveSubState(s: HarnessState, u: Unit): string {
  const a = effectiveActiveState(s, u);
  if (u.kind === "plain" && a === "activating") return "start";
  return a === "active"
    ? "running"
    : a === "activating"
    ? "auto-restart"
    : a === "failed"
    ? "failed"
    : "dead";
}

/**
 * Starts a unit; returns an error line (the unit is then failed) or null. A
 * container unit (re)starts its container; a plain unit becomes active, or, if
 * it has `exec`, `activating`: the caller runs the command outside the state
 * lock and then calls `finishOneshot`.
 */
export async function startUnit(
  s: HarnessState,
  name: string,
  harnessDir: string,
): Promise<string | null> {
  const u = s.units[name];
  if (u.kind === "plain") {
    u.starts += 1;
    u.activeState = u.exec ? "activating" : "active";
    delete u.lastError;
    delete u.runner;
    return null;
  }
  return await startContainerUnit(s, u, name, harnessDir);
}

async function startContainerUnit(
  s: HarnessState,
  u: ContainerUnit,
  name: string,
  harnessDir: string,
): Promise<string | null> {
  // A restart stops first (ExecStop: podman stop -t 15, SIGTERM), then ExecStartPre: rm -f.
  const old = s.containers[u.container];
  if (old) await stopContainer(old, 15_000);
  await removeContainer(s, u.container);
  const ref = `${u.image}:${u.runTag}`;
  const id = resolveImage(s, ref);
  let error: string | null = null;
  const env: string[] = [];
  const mounts: Mount[] = [];
  if (!id) error = `Error: ${ref}: image not known`;
  for (const f of u.envFiles) {
    try {
      env.push(...readEnvFile(f));
    } catch {
      error ??= `Error: open ${f}: no such file or directory`;
    }
  }
  env.push(...u.env);
  for (const v of u.volumes) {
    const m = parseVolume(v);
    if (m) mounts.push(m);
  }
  u.starts += 1;
  if (error || !id) {
    u.activeState = "failed";
    u.lastError = error ?? "no image";
    return u.lastError;
  }
  startContainer(s, {
    name: u.container,
    imageId: id,
    imageName: ref,
    env,
    mounts,
    port: u.hostPort,
    containerPort: u.containerPort,
    harnessDir,
    unit: name,
  });
  u.activeState = "active";
  delete u.lastError;
  return null;
}

/** Stops the unit's container (it stays, exited) and marks the unit inactive. */
export async function stopUnit(s: HarnessState, name: string): Promise<void> {
  const u = s.units[name];
  if (u.kind === "container") {
    const c = s.containers[u.container];
    if (c) await stopContainer(c, 15_000);
  }
  u.activeState = "inactive";
}

/** Records how a oneshot unit's command ended (Type=oneshot without RemainAfterExit). */
export function finishOneshot(
  s: HarnessState,
  name: string,
  status: { code: number; signal: string | null },
): void {
  const u = s.units[name];
  if (u?.kind !== "plain") return;
  const ok = status.code === 0 && !status.signal;
  u.activeState = ok ? "inactive" : "failed";
  u.result = ok ? "success" : status.signal ? "signal" : "exit-code";
  delete u.runner;
  delete u.claim;
  if (ok) delete u.lastError;
  else u.lastError = status.signal ? `killed by ${status.signal}` : `exited ${status.code}`;
}

/** A restart whose start part fails (injected): the old container is gone, the unit failed. */
export async function failUnit(s: HarnessState, name: string, why: string): Promise<void> {
  const u = s.units[name];
  if (u.kind === "container") await removeContainer(s, u.container);
  u.starts += 1;
  u.activeState = "failed";
  u.lastError = why;
}
