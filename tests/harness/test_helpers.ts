/** Shared helpers of the harness self-tests. */
import { Podman } from "../../lib/host/podman.ts";
import type { Harness } from "./harness.ts";
import { sleep } from "./state.ts";

/** The backend unit of a default harness. */
export const BACKEND = "grapheon-backend.service";
/** The frontend unit of a default harness. */
export const FRONTEND = "grapheon-frontend.service";

/** Points the run tag at `version` through the podman double, then restarts the backend unit. */
export async function switchBackend(h: Harness, version: string): Promise<number> {
  const podman = new Podman(h.runner, h.config.commands.podman);
  const id = await podman.pull(h.ref("backend", version), { timeoutMs: 10_000 });
  await podman.tag(id, `${h.config.backend.image}:${h.config.runTag}`);
  const r = await h.double("systemctl", ["restart", BACKEND]);
  return r.code;
}

/** Polls `probe` until `ok` (or `ms` pass) and returns the last value. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  ok: (v: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const until = Date.now() + ms;
  let v = await probe();
  while (!ok(v) && Date.now() < until) {
    await sleep(50);
    v = await probe();
  }
  return v;
}
