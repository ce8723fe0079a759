/**
 * Container commands of the podman double: container inspect, run (a fake app
 * process), rm, stop, logs, ps. Formats and exit codes follow podman 4.3.
 */
import {
  inspectContainerView,
  parseVolume,
  readEnvFile,
  removeContainer,
  resolveImage,
  startContainer,
  stopContainer,
  withDefaultTag,
} from "./containers.ts";
import type { Outcome } from "./double.ts";
import {
  has,
  imageNotKnown,
  json,
  noSuchContainer,
  parse,
  type Parsed,
  values,
} from "./podman_args.ts";
import { inspectOutput, pull } from "./podman_images.ts";
import { containerRunning, type HarnessState, type Mount } from "./state.ts";

/** `podman container inspect`. */
export function containerInspect(
  s: HarnessState,
  names: string[],
  format: string | undefined,
): Outcome {
  const views: Record<string, unknown>[] = [];
  for (const name of names) {
    const c = s.containers[name] ??
      Object.values(s.containers).find((x) => name.length >= 3 && x.id.startsWith(name));
    if (!c) {
      return {
        code: 125,
        stdout: json(views),
        stderr: `Error: inspecting object: no such container ${name}\n`,
      };
    }
    views.push(inspectContainerView(s, c));
  }
  return { code: 0, stdout: inspectOutput(format, views) };
}

/** The first `-p [ip:]host:container` mapping (a container port alone, random host port: unsupported). */
function publishedPort(specs: string[]): { host: number; container: number } | null {
  for (const spec of specs) {
    const parts = spec.replace(/\/(tcp|udp)$/, "").split(":");
    const [host, container] = parts.length === 3 ? parts.slice(1) : parts;
    if (parts.length >= 2 && /^\d+$/.test(host) && /^\d+$/.test(container)) {
      return { host: Number(host), container: Number(container) };
    }
  }
  return null;
}

/** `podman run`: starts a fake app process for the image. */
export async function runContainer(
  s: HarnessState,
  args: string[],
  harnessDir: string,
): Promise<Outcome> {
  const p = parse(args, true, ["-t", "-i"]);
  const [imageRef] = p.positional;
  if (!imageRef) return { code: 125, stderr: "Error: image name or ID must be specified\n" };
  const name = values(p, "--name").at(-1) ?? `harness_${crypto.randomUUID().slice(0, 8)}`;
  if (s.containers[name]) {
    if (!has(p, "--replace")) {
      return {
        code: 125,
        stderr: `Error: creating container storage: the container name "${name}" is already ` +
          `in use by ${s.containers[name].id}. You have to remove that container to be able ` +
          `to reuse that name: that name is already in use\n`,
      };
    }
  }
  const pullPolicy = values(p, "--pull").at(-1) ?? "missing";
  let id = resolveImage(s, imageRef);
  if (!id && pullPolicy !== "never") {
    const release = s.registry[withDefaultTag(imageRef)];
    if (release) {
      pull(s, imageRef, null);
      id = release.id;
    }
  }
  if (!id) return imageNotKnown(imageRef);
  const env: string[] = [];
  try {
    for (const f of values(p, "--env-file")) env.push(...readEnvFile(f));
  } catch (err) {
    return { code: 125, stderr: `Error: open ${values(p, "--env-file")}: ${String(err)}\n` };
  }
  env.push(...values(p, "-e", "--env").filter((e) => e.includes("=")));
  const labels = Object.fromEntries(
    values(p, "--label", "-l").map((l) =>
      l.includes("=") ? [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] : [l, ""]
    ),
  );
  const mounts: Mount[] = [];
  for (const v of values(p, "-v", "--volume")) {
    const m = parseVolume(v);
    if (!m) return { code: 125, stderr: `Error: invalid volume spec "${v}"\n` };
    mounts.push(m);
  }
  const published = publishedPort(values(p, "-p", "--publish"));
  let port = published?.host ?? null;
  // Unpublished: with `PORT=` in the env (host network) listen there, else on a free port.
  const envPort = env.findLast((e) => e.startsWith("PORT="))?.slice(5);
  if (port === null && envPort && /^\d+$/.test(envPort)) port = Number(envPort);
  const containerPort = published?.container ?? (port ?? 8000);
  if (s.containers[name]) await removeContainer(s, name);
  const c = startContainer(s, {
    name,
    imageId: id,
    imageName: imageRef,
    env,
    mounts,
    port,
    containerPort,
    harnessDir,
    labels,
    autoRemove: has(p, "--rm"),
  });
  return { code: 0, stdout: `${c.id}\n` };
}

/** `podman rm`: kills and forgets containers; `-f` ignores missing ones. */
export async function rm(s: HarnessState, p: Parsed): Promise<Outcome> {
  const force = has(p, "-f", "--force");
  const ignore = has(p, "-i", "--ignore");
  const seconds = Number(values(p, "-t", "--time").at(-1) ?? "10");
  const graceMs = Math.min(Number.isFinite(seconds) ? seconds : 10, 15) * 1000;
  let stdout = "";
  let stderr = "";
  for (const name of p.positional) {
    const c = s.containers[name];
    if (!c) {
      // podman 4.3: `rm -f` (like `--ignore`) skips a missing container silently.
      if (ignore || force) continue;
      return { ...noSuchContainer(name), code: 1, stdout };
    }
    if (containerRunning(c) && !force) {
      return {
        code: 2,
        stdout,
        stderr: `Error: cannot remove container ${c.id} as it is running - running or paused ` +
          `containers cannot be removed without force: container state improper\n`,
      };
    }
    stderr += await removeContainer(s, name, graceMs);
    stdout += `${name}\n`;
  }
  return { code: 0, stdout, stderr };
}

/** `podman stop`: SIGTERM, SIGKILL after `-t` seconds; the container stays. */
export async function stop(s: HarnessState, p: Parsed): Promise<Outcome> {
  const seconds = Number(values(p, "-t", "--time").at(-1) ?? "10");
  let stdout = "";
  let stderr = "";
  for (const name of p.positional) {
    const c = s.containers[name];
    if (!c) return { ...noSuchContainer(name), stdout };
    stderr += await stopContainer(c, Math.min(Number.isFinite(seconds) ? seconds : 10, 15) * 1000);
    stdout += `${name}\n`;
  }
  return { code: 0, stdout, stderr };
}

/** `podman logs`: the fake app's log file. */
export function logs(s: HarnessState, p: Parsed): Outcome {
  const name = p.positional[0] ?? "";
  const c = s.containers[name];
  if (!c) return noSuchContainer(name);
  const n = Number(values(p, "--tail", "-n").at(-1) ?? "-1");
  let lines: string[] = [];
  try {
    lines = Deno.readTextFileSync(c.logFile).split("\n").filter(Boolean);
  } catch { /* no log yet */ }
  if (n >= 0) lines = lines.slice(Math.max(0, lines.length - n));
  return { code: 0, stdout: lines.map((l) => l + "\n").join("") };
}

/** `podman ps --format json`. */
export function ps(s: HarnessState, p: Parsed): Outcome {
  const all = has(p, "-a", "--all");
  let list = Object.values(s.containers).filter((c) => all || containerRunning(c));
  for (const f of values(p, "--filter", "-f")) {
    if (f.startsWith("name=")) list = list.filter((c) => c.name.includes(f.slice(5)));
    if (f.startsWith("label=")) {
      const [k, v] = f.slice(6).split("=", 2);
      list = list.filter((c) =>
        c.labels?.[k] !== undefined && (v === undefined || c.labels[k] === v)
      );
    }
  }
  const out = list.map((c) => ({
    Id: c.id,
    Names: [c.name],
    Image: c.imageName,
    ImageID: c.image,
    State: containerRunning(c) ? "running" : "exited",
    Pid: containerRunning(c) ? c.pid : 0,
    Created: Math.floor(Date.parse(c.created) / 1000),
    Labels: c.labels ?? null,
    AutoRemove: c.autoRemove ?? false,
    Exited: !containerRunning(c),
    ExitCode: containerRunning(c) ? 0 : (c.exitCode ?? 1),
    Status: containerRunning(c) ? "Up" : `Exited (${c.exitCode ?? 1})`,
  }));
  return { code: 0, stdout: json(out) };
}
