/**
 * Whether the lab can run here, and `labTest`, the Deno.test wrapper every lab
 * test uses. The lab needs Linux, root and a few programs; it runs only when
 * asked (`GRAPHEON_LAB=1`, set by `deno task test:lab`), so the fast suite
 * lists lab tests as ignored instead of booting hosts. When asked but unable:
 * under CI (`CI=true`) the test fails; elsewhere it is ignored and says clearly
 * that the lab did not run. It never passes without running.
 */

/** Programs the lab runs on the build machine. */
export const LAB_PROGRAMS = [
  "systemd-nspawn",
  "nsenter",
  "debootstrap",
  "docker-registry",
  "podman",
  "umount",
] as const;

function onPath(program: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      if (Deno.statSync(`${dir}/${program}`).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

/** Whether a static libc for `gcc -static` is installed (Debian's libc6-dev ships libc.a). */
function staticLibc(): boolean {
  try {
    return [...Deno.readDirSync("/usr/lib")].some((e) => {
      if (!e.isDirectory || !e.name.endsWith("-linux-gnu")) return false;
      try {
        return Deno.statSync(`/usr/lib/${e.name}/libc.a`).isFile;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Why the lab cannot run on this machine (with `extra` programs too), or null when it can. */
export function labUnavailableReason(extra: readonly string[] = []): string | null {
  if (Deno.build.os !== "linux") return `it needs Linux (this is ${Deno.build.os})`;
  if (Deno.uid() !== 0) return "it needs root (systemd-nspawn, nsenter, mounts)";
  const missing: string[] = [...LAB_PROGRAMS, ...extra].filter((p) => !onPath(p));
  try {
    Deno.statSync("/bin/busybox");
  } catch {
    missing.push("/bin/busybox (busybox-static)");
  }
  if (!onPath("gcc")) missing.push("gcc");
  if (!staticLibc()) missing.push("a static libc (libc6-dev)");
  if (missing.length) {
    return `missing ${missing.join(", ")} (run tests/lab/setup.sh as root)`;
  }
  return null;
}

/** Whether this process was asked to run the lab. */
export function labRequested(): boolean {
  return Deno.env.get("GRAPHEON_LAB") === "1";
}

function inCi(): boolean {
  const ci = (Deno.env.get("CI") ?? "").toLowerCase();
  return ci !== "" && ci !== "0" && ci !== "false";
}

let announced = false;

/**
 * Registers a lab test: runs `fn` when the lab was asked for and can run (with
 * `options.programs` on PATH besides the lab's own),
 * fails under CI when it cannot, and is otherwise ignored with a clear note.
 */
export function labTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
  options: { programs?: readonly string[] } = {},
): void {
  const requested = labRequested();
  const reason = requested ? labUnavailableReason(options.programs) : null;
  const common = { name: `lab: ${name}`, sanitizeOps: false, sanitizeResources: false };
  if (!requested) {
    Deno.test({ ...common, ignore: true, fn: () => {} });
    return;
  }
  if (reason !== null && inCi()) {
    Deno.test({
      ...common,
      fn: () => {
        throw new Error(`the lab cannot run here: ${reason}; CI must run it`);
      },
    });
    return;
  }
  if (reason !== null) {
    if (!announced) {
      console.error(`\nLAB DID NOT RUN: ${reason}. Its tests are reported as ignored.\n`);
      announced = true;
    }
    Deno.test({ ...common, ignore: true, fn: () => {} });
    return;
  }
  Deno.test({ ...common, fn });
}
