/**
 * The podman double (run through tests/harness/bin/podman). Implements what
 * lib/podman.ts calls, with podman 4.x output formats and exit codes (125 for
 * "image not known" / "no such container", 2 for "image in use"), on the state
 * in $GRAPHEON_HARNESS_STATE. Unknown flags are accepted and ignored; every
 * call is recorded.
 */
import {
  containersUsing,
  IMAGE_ENV,
  inspectContainerView,
  parseVolume,
  readEnvFile,
  removeContainer,
  resolveImage,
  setTag,
  startContainer,
  stopContainer,
  withDefaultTag,
} from "./containers.ts";
import { join } from "node:path";
import { type Outcome, runDouble } from "./double.ts";
import { containerRunning, type FaultRule, type HarnessState, type Mount } from "./state.ts";

/** Flags that take a value (the next argument unless written `--flag=value`). */
const VALUE_FLAGS = new Set([
  "--format",
  "-f",
  "--filter",
  "--name",
  "-e",
  "--env",
  "--env-file",
  "-v",
  "--volume",
  "--network",
  "--net",
  "-p",
  "--publish",
  "-t",
  "--time",
  "--tail",
  "-n",
  "--pull",
  "--label",
  "-l",
  "--user",
  "-u",
  "--workdir",
  "-w",
  "--entrypoint",
  "--hostname",
  "--cap-add",
  "--cap-drop",
  "--security-opt",
  "--ulimit",
  "--memory",
  "-m",
  "--cpus",
  "--restart",
  "--runtime",
  "--cgroup-manager",
  "--events-backend",
  "--add-host",
  "--tmpfs",
  "--mount",
  "--userns",
  "--stop-timeout",
  "--stop-signal",
  "--log-driver",
  "--log-opt",
  "--sdnotify",
  "--pidfile",
  "--cgroups",
  "--timeout",
  "--type",
  "--since",
  "--until",
  "--retry",
  "--retry-delay",
  "--authfile",
  "--creds",
  "--arch",
  "--os",
  "--platform",
  "--tls-verify",
]);

/** Short flags that are booleans for one subcommand although another uses them with a value. */
const BOOLEAN_SHORTS: Record<string, string[]> = {
  rm: ["-f", "-v", "-a", "-i"],
  rmi: ["-f", "-a", "-i"],
  logs: ["-f", "-t"],
  ps: ["-a", "-l", "-q", "-n"],
  ls: ["-a", "-l", "-q", "-n"],
  images: ["-a", "-q", "-n"],
  stop: ["-a", "-i", "-l"],
};

interface Parsed {
  /** Flag → values (short and long names kept as given). */
  flags: Map<string, string[]>;
  /** Positional arguments (for `run`: the image, then its command). */
  positional: string[];
}

/**
 * Parses flags; for `run`, stops at the first positional (the image).
 * `booleans` overrides VALUE_FLAGS for one subcommand (`rm -f` is --force, `inspect -f` is --format).
 */
function parse(args: string[], stopAtFirstPositional = false, booleans: string[] = []): Parsed {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  const add = (k: string, v: string) => flags.set(k, [...(flags.get(k) ?? []), v]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (stopAtFirstPositional && positional.length > 0) {
      positional.push(a);
      continue;
    }
    if (a === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith("--") && a.includes("=")) {
      const eq = a.indexOf("=");
      add(a.slice(0, eq), a.slice(eq + 1));
    } else if (a.startsWith("-") && a.length > 1) {
      if (VALUE_FLAGS.has(a) && !booleans.includes(a)) add(a, args[++i] ?? "");
      else add(a, "true");
    } else positional.push(a);
  }
  return { flags, positional };
}

function values(p: Parsed, ...names: string[]): string[] {
  return names.flatMap((n) => p.flags.get(n) ?? []);
}

function has(p: Parsed, ...names: string[]): boolean {
  return names.some((n) => p.flags.has(n));
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 4) + "\n";
}

function imageNotKnown(ref: string): Outcome {
  return { code: 125, stderr: `Error: ${ref}: image not known\n` };
}

function noSuchContainer(name: string): Outcome {
  return {
    code: 125,
    stderr: `Error: no container with name or ID "${name}" found: no such container\n`,
  };
}

function failWith(fault: FaultRule, code: number, stderr: string): Outcome {
  return { code: fault.code ?? code, stderr: (fault.stderr ?? stderr).replace(/\n?$/, "\n") };
}

/** Renders `{{.A.B}}` Go-template placeholders against a value (enough for inspect formats). */
function template(format: string, value: unknown): string {
  return format.replace(/\{\{\s*\.([A-Za-z0-9_.]+)\s*\}\}/g, (_, path: string) => {
    let v: unknown = value;
    for (const k of path.split(".")) {
      const o = v as Record<string, unknown> | undefined;
      // Go templates name struct fields (Store.GraphRoot) where the JSON has store.graphRoot.
      const key = o && Object.keys(o).find((x) => x.toLowerCase() === k.toLowerCase());
      v = key === undefined ? undefined : o?.[key];
    }
    return typeof v === "object" ? JSON.stringify(v) : String(v ?? "<no value>");
  });
}

function imageInspectView(s: HarnessState, id: string): Record<string, unknown> {
  const img = s.images[id];
  return {
    Id: id,
    Digest: `sha256:${id}`,
    RepoTags: img.repoTags,
    RepoDigests: [],
    Created: img.release.created,
    Architecture: "amd64",
    Os: "linux",
    Size: 150_000_000,
    Labels: { "org.opencontainers.image.version": img.release.version },
    Config: {
      Env: IMAGE_ENV,
      Labels: { "org.opencontainers.image.version": img.release.version },
    },
  };
}

function inspectOutput(format: string | undefined, views: Record<string, unknown>[]): string {
  if (!format || format === "json") return json(views);
  return views.map((v) => template(format, v)).join("\n") + "\n";
}

function info(dir: string, format: string | undefined): Outcome {
  const graphRoot = join(dir, "storage");
  Deno.mkdirSync(graphRoot, { recursive: true });
  const view = {
    host: { arch: "amd64", os: "linux", hostname: "harness" },
    store: {
      configFile: "/etc/containers/storage.conf",
      graphDriverName: "overlay",
      graphRoot,
      runRoot: join(dir, "run"),
      imageStore: { number: 0 },
    },
    version: { APIVersion: "4.3.1", Version: "4.3.1", GoVersion: "go1.19.8" },
  };
  return {
    code: 0,
    stdout: !format || format === "json" ? json(view) : template(format, view) + "\n",
  };
}

function imageInspect(s: HarnessState, refs: string[], format: string | undefined): Outcome {
  const views: Record<string, unknown>[] = [];
  for (const ref of refs) {
    const id = resolveImage(s, ref);
    if (!id) {
      return {
        code: 125,
        stdout: json(views),
        stderr: `Error: inspecting object: ${ref}: image not known\n`,
      };
    }
    views.push(imageInspectView(s, id));
  }
  return { code: 0, stdout: inspectOutput(format, views) };
}

function containerInspect(s: HarnessState, names: string[], format: string | undefined): Outcome {
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

function pull(s: HarnessState, ref: string, fault: FaultRule | null): Outcome {
  const full = withDefaultTag(ref);
  const progress = `Trying to pull ${full}...\n`;
  if (fault) {
    return failWith(
      fault,
      125,
      `${progress}Error: initializing source docker://${full}: pinging container registry ` +
        `${full.split("/")[0]}: Get "https://${full.split("/")[0]}/v2/": dial tcp: ` +
        `connect: connection refused`,
    );
  }
  const release = s.registry[full];
  if (!release) {
    const tag = full.slice(full.lastIndexOf(":") + 1);
    return {
      code: 125,
      stderr: `${progress}Error: initializing source docker://${full}: reading manifest ${tag} ` +
        `in ${full.slice(0, full.lastIndexOf(":"))}: manifest unknown\n`,
    };
  }
  if (!s.images[release.id]) s.images[release.id] = { release: { ...release }, repoTags: [] };
  setTag(s, release.id, full);
  const blob = release.id.split("").reverse().join("");
  return {
    code: 0,
    stdout: `${release.id}\n`,
    stderr: `${progress}Getting image source signatures\nCopying blob sha256:${blob}\n` +
      `Copying config sha256:${release.id}\nWriting manifest to image destination\n`,
  };
}

function tag(s: HarnessState, src: string, refs: string[]): Outcome {
  const id = resolveImage(s, src);
  if (!id) return imageNotKnown(src);
  for (const ref of refs) setTag(s, id, ref);
  return { code: 0 };
}

function matchesReference(tags: string[], filter: string): boolean {
  const glob = (pat: string) =>
    new RegExp("^" + pat.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$");
  const hasTag = filter.slice(filter.lastIndexOf("/") + 1).includes(":");
  return tags.some((t) => {
    const repo = t.slice(0, t.lastIndexOf(":"));
    return hasTag ? glob(filter).test(t) : glob(filter).test(repo);
  });
}

function images(s: HarnessState, p: Parsed): Outcome {
  const filters = values(p, "--filter", "-f");
  let list = Object.entries(s.images);
  for (const f of filters) {
    if (f.startsWith("reference=")) {
      const ref = f.slice("reference=".length);
      list = list.filter(([, img]) => matchesReference(img.repoTags, ref));
    }
  }
  if (has(p, "-q", "--quiet")) {
    return { code: 0, stdout: list.map(([id]) => id.slice(0, 12) + "\n").join("") };
  }
  // podman 4.3 lists an image once per tag (all its tags in Names each time).
  const rows = list.flatMap(([id, img]) =>
    (img.repoTags.length ? img.repoTags : [null]).map(() => [id, img] as const)
  );
  const out = rows.map(([id, img]) => ({
    Id: id,
    ParentId: "",
    RepoTags: null,
    RepoDigests: [],
    Size: 150_000_000,
    SharedSize: 0,
    VirtualSize: 150_000_000,
    Labels: { "org.opencontainers.image.version": img.release.version },
    Containers: containersUsing(s, id).length,
    Names: img.repoTags.length ? img.repoTags : undefined,
    Digest: `sha256:${id}`,
    History: [...img.repoTags].reverse(),
    Created: Math.floor(Date.parse(img.release.created) / 1000),
    CreatedAt: img.release.created,
  }));
  return { code: 0, stdout: json(out) };
}

function rmi(s: HarnessState, refs: string[], force: boolean): Outcome {
  let stdout = "";
  for (const ref of refs) {
    const id = resolveImage(s, ref);
    if (!id) return { code: 1, stdout, stderr: `Error: ${ref}: image not known\n` };
    const img = s.images[id];
    const byId = !img.repoTags.includes(withDefaultTag(ref));
    if (!byId && img.repoTags.length > 1) {
      img.repoTags = img.repoTags.filter((t) => t !== withDefaultTag(ref));
      stdout += `Untagged: ${withDefaultTag(ref)}\n`;
      continue;
    }
    if (byId && img.repoTags.length > 1 && !force) {
      return {
        code: 125,
        stdout,
        stderr: `Error: unable to delete image "${id}" by ID with more than one tag ` +
          `([${img.repoTags.join(" ")}]): please force removal\n`,
      };
    }
    const users = containersUsing(s, id);
    if (users.length > 0) {
      return {
        code: 2,
        stdout,
        stderr: `Error: image used by ${users[0].id}: image is in use by a container: ` +
          `consider listing external containers and force-removing image\n`,
      };
    }
    for (const t of img.repoTags) stdout += `Untagged: ${t}\n`;
    stdout += `Deleted: ${id}\n`;
    delete s.images[id];
  }
  return { code: 0, stdout };
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

async function runContainer(
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
  });
  return { code: 0, stdout: `${c.id}\n` };
}

async function rm(s: HarnessState, p: Parsed): Promise<Outcome> {
  const force = has(p, "-f", "--force");
  const ignore = has(p, "-i", "--ignore");
  let stdout = "";
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
    await removeContainer(s, name);
    stdout += `${name}\n`;
  }
  return { code: 0, stdout };
}

async function stop(s: HarnessState, p: Parsed): Promise<Outcome> {
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

function logs(s: HarnessState, p: Parsed): Outcome {
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

function ps(s: HarnessState, p: Parsed): Outcome {
  const all = has(p, "-a", "--all");
  let list = Object.values(s.containers).filter((c) => all || containerRunning(c));
  for (const f of values(p, "--filter", "-f")) {
    if (f.startsWith("name=")) list = list.filter((c) => c.name.includes(f.slice(5)));
  }
  const out = list.map((c) => ({
    Id: c.id,
    Names: [c.name],
    Image: c.imageName,
    ImageID: c.image,
    State: containerRunning(c) ? "running" : "exited",
    Pid: containerRunning(c) ? c.pid : 0,
    Created: Math.floor(Date.parse(c.created) / 1000),
  }));
  return { code: 0, stdout: json(out) };
}

function handle(
  s: HarnessState,
  args: string[],
  fault: FaultRule | null,
): Outcome | Promise<Outcome> {
  const dir = Deno.env.get("GRAPHEON_HARNESS_STATE")!;
  const sub = args.findIndex((a) => !a.startsWith("-"));
  let cmd = sub < 0 ? (args.includes("--version") ? "version" : "") : args[sub];
  let rest = args.slice(sub + 1);
  // `podman image X` / `podman container X` are the same as the short forms.
  if (cmd === "image" || cmd === "container" || cmd === "system") {
    const group = cmd;
    cmd = `${group} ${rest[0] ?? ""}`;
    rest = rest.slice(1);
  }
  if (fault && !cmd.endsWith("pull")) {
    return failWith(fault, 125, `Error: ${cmd}: injected failure`);
  }
  const booleans = BOOLEAN_SHORTS[cmd.replace(/^(image|container) /, "")] ?? [];
  const p = () => parse(rest, false, booleans);
  const format = () => values(p(), "--format", "-f").at(-1);
  switch (cmd) {
    case "image inspect":
      return imageInspect(s, p().positional, format());
    case "inspect":
      return values(p(), "--type").at(-1) === "container"
        ? containerInspect(s, p().positional, format())
        : imageInspect(s, p().positional, format());
    case "image exists":
      return { code: resolveImage(s, p().positional[0] ?? "") ? 0 : 1 };
    case "pull":
    case "image pull":
      return pull(s, p().positional[0] ?? "", fault);
    case "tag":
    case "image tag":
      return tag(s, p().positional[0] ?? "", p().positional.slice(1));
    case "container inspect":
      return containerInspect(s, p().positional, format());
    case "container exists":
      return { code: s.containers[p().positional[0] ?? ""] ? 0 : 1 };
    case "images":
    case "image ls":
    case "image list":
      return images(s, p());
    case "rmi":
    case "image rm":
      return rmi(s, p().positional, has(p(), "-f", "--force"));
    case "run":
    case "container run":
      return runContainer(s, rest, dir);
    case "rm":
    case "container rm":
      return rm(s, p());
    case "stop":
    case "container stop":
      return stop(s, p());
    case "logs":
    case "container logs":
      return logs(s, p());
    case "ps":
    case "container ls":
    case "container list":
      return ps(s, p());
    case "info":
    case "system info":
      return info(dir, format());
    case "version":
    case "--version":
      return { code: 0, stdout: "podman version 4.3.1 (harness double)\n" };
    default:
      return {
        code: 125,
        stderr: `Error: unrecognized command \`podman ${cmd}\` (harness double)\n`,
      };
  }
}

if (import.meta.main) {
  await runDouble("podman", handle, (args) => {
    const ref = args.find((a, i) => i > 0 && !a.startsWith("-")) ?? "";
    return args.includes("pull") ? `Trying to pull ${withDefaultTag(ref)}...\n` : "";
  });
}
