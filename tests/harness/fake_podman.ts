/**
 * The podman double (run through tests/harness/bin/podman). Implements what
 * lib/host/podman.ts calls, with podman 4.x output formats and exit codes (125 for
 * "image not known" / "no such container", 2 for "image in use"), on the state
 * in $GRAPHEON_HARNESS_STATE. Unknown flags are accepted and ignored; every
 * call is recorded.
 */
import { reapAutoRemoved, resolveImage, withDefaultTag } from "./containers.ts";
import { type Outcome, runDouble } from "./double.ts";
import { BOOLEAN_SHORTS, failWith, has, parse, values } from "./podman_args.ts";
import { containerInspect, logs, ps, rm, runContainer, stop } from "./podman_containers.ts";
import { imageInspect, images, info, pull, rmi, tag } from "./podman_images.ts";
import type { FaultRule, HarnessState } from "./state.ts";

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
  reapAutoRemoved(s);
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
