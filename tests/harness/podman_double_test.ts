/**
 * Self-test of the podman double: its output is what lib/host/podman.ts parses, its errors
 * and exit codes are podman 4.3's, `run` makes containers that are processes.
 */
import assert from "node:assert/strict";
import { Podman } from "../../lib/host/podman.ts";
import { Systemd } from "../../lib/host/systemd.ts";
import { Harness } from "./harness.ts";
import { processAlive } from "./state.ts";
import { BACKEND, switchBackend, waitFor } from "./test_helpers.ts";

Deno.test("retag + systemctl restart switches the running release; lib adapters read the doubles", async () => {
  await using h = await Harness.create();
  const podman = new Podman(h.runner, h.config.commands.podman);
  const systemd = new Systemd(h.runner, h.config.commands.systemctl);
  assert.equal(await podman.imageId(h.ref("backend", "0.3.0")), null);
  assert.equal(await switchBackend(h, "0.3.0"), 0);
  const health = await h.waitForVersion("0.3.0");
  assert.ok(health.ok && health.body.version === "0.3.0", JSON.stringify(health));
  assert.equal(await systemd.activeState(BACKEND), "active");
  const c = await podman.inspectContainer(h.config.backend.container);
  assert.ok(c);
  assert.equal(c.Image, h.releaseId("backend", "0.3.0"));
  assert.equal(c.ImageName, `${h.config.backend.image}:current`);
  assert.equal(c.State.Running, true);
  assert.ok(c.Config?.Env?.includes("DATA_DIR=/app/data"));
  assert.deepEqual(c.Mounts?.map((m) => [m.Source, m.Destination]), [[h.dataDir, "/app/data"]]);
  const images = await podman.listImages(h.config.backend.image);
  // podman 4.3 lists an image once per tag: 0.2.0 (v0.2.0) + 0.3.0 (v0.3.0, current).
  assert.equal(images.length, 3);
  assert.deepEqual(
    [...new Set(images.map((i) => i.Id))].sort(),
    [h.releaseId("backend", "0.2.0"), h.releaseId("backend", "0.3.0")].sort(),
  );
  assert.ok(images.every((i) => typeof i.Created === "number"));
  const inspect = await podman.inspectImage(h.ref("backend", "0.3.0"));
  assert.deepEqual(inspect?.RepoTags?.sort(), [
    `${h.config.backend.image}:current`,
    h.ref("backend", "0.3.0"),
  ]);
  assert.match(await podman.logs(h.config.backend.container, 5), /backend 0\.3\.0/);
  // The old image is no longer in use and can go; the running one cannot.
  await assert.rejects(
    () => podman.removeImage(h.releaseId("backend", "0.3.0")),
    /exited 125: .*by ID with more than one tag/,
  );
  await podman.removeImage(h.ref("backend", "0.2.0"));
  assert.equal(await podman.imageId(h.ref("backend", "0.2.0")), null);
  await podman.removeImage(h.ref("backend", "0.3.0")); // one of two tags: only untagged
  await assert.rejects(
    () => podman.removeImage(`${h.config.backend.image}:current`),
    /exited 2: .*image is in use by a container/,
  );
  assert.deepEqual(
    h.calls("systemctl").map((c) => c.argv),
    [["systemctl", "restart", BACKEND], ["systemctl", "show", BACKEND, "-p", "ActiveState"]],
  );
  assert.equal(h.calls("podman", "pull")[0].code, 0);
});

Deno.test("podman double: errors look like podman 4", async () => {
  await using h = await Harness.create();
  const missing = await h.double("podman", ["image", "inspect", "--format", "json", "nope:v1"]);
  assert.equal(missing.code, 125);
  assert.equal(missing.stdout, "[]\n");
  assert.match(missing.stderr, /^Error: inspecting object: nope:v1: image not known$/m);
  const unknown = await h.double("podman", ["pull", h.ref("backend", "9.9.9")]);
  assert.equal(unknown.code, 125);
  assert.match(unknown.stderr, /manifest unknown/);
  const noCtr = await h.double("podman", ["container", "inspect", "--format", "json", "ghost"]);
  assert.equal(noCtr.code, 125);
  assert.match(noCtr.stderr, /no such container/);
  const dup = await h.double("podman", [
    "run",
    "-d",
    "--pull=never",
    "--name",
    h.config.backend.container,
    h.ref("backend", "0.2.0"),
  ]);
  assert.equal(dup.code, 125);
  assert.match(dup.stderr, /already in use/);
  const notLocal = await h.double("podman", [
    "run",
    "-d",
    "--pull=never",
    "--name",
    "x",
    h.ref("backend", "0.3.0"),
  ]);
  assert.equal(notLocal.code, 125);
  assert.match(notLocal.stderr, /image not known/);
  const weird = await h.double("podman", [
    "--log-level=error",
    "images",
    "--format",
    "json",
    "--noheading",
  ]);
  assert.equal(weird.code, 0, weird.stderr);
  assert.equal(JSON.parse(weird.stdout).length, 4, "two images with two tags each, a row per tag");
  const podman = new Podman(h.runner, h.config.commands.podman);
  assert.equal(await podman.inspectContainer("ghost"), null);
  assert.equal(await podman.inspectImage("nope:v1"), null);
});

Deno.test("canary-style podman run -d publishes on the given host port; rm -f kills it", async () => {
  await using h = await Harness.create();
  const podman = new Podman(h.runner, h.config.commands.podman);
  const id = await podman.pull(h.ref("backend", "0.3.0"), { timeoutMs: 10_000 });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const cid = await podman.runDetached({
    name: "grapheon-canary",
    image: id,
    env: ["DATA_DIR=/app/data"],
    envFiles: [h.config.envFile],
    volumes: [`${h.dir}:/app/data`],
    extraArgs: ["--network", "slirp4netns", "-p", `127.0.0.1:${port}:8000`],
  });
  assert.match(cid, /^[0-9a-f]{64}$/);
  const body = await waitFor(async () => {
    try {
      return await (await fetch(`http://127.0.0.1:${port}/health`)).json();
    } catch {
      return null;
    }
  }, (b) => b !== null);
  assert.equal(body?.version, "0.3.0");
  const info = await podman.inspectContainer("grapheon-canary");
  assert.ok(info?.Config?.Env?.includes("JWT_SECRET=change-me"), "env file was read");
  const { pid, pidStart } = h.state().containers["grapheon-canary"];
  assert.equal(processAlive(pid, pidStart), true);
  await podman.removeContainer("grapheon-canary");
  assert.equal(processAlive(pid, pidStart), false);
  assert.equal(await podman.inspectContainer("grapheon-canary"), null);
  assert.equal((await h.health()).ok, true, "the live backend was not touched");
});

Deno.test("podman run --label and --rm: ps filters by label, an exited --rm container is gone", async () => {
  await using h = await Harness.create();
  await h.install("backend", "0.3.0", { runTag: false });
  await h.install("backend", "0.3.2", { runTag: false });
  const ok = await h.double("podman", [
    "run",
    "-d",
    "--pull=never",
    "--name",
    "c1",
    "--label",
    "grapheon-tool=canary",
    h.ref("backend", "0.3.0"),
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  const dies = await h.double("podman", [
    "run",
    "-d",
    "--rm",
    "--name",
    "c2",
    h.ref("backend", "0.3.2"),
  ]);
  assert.equal(dies.code, 0, dies.stderr);
  const ps = await h.double("podman", [
    "ps",
    "-a",
    "--format",
    "json",
    "--filter",
    "label=grapheon-tool=canary",
  ]);
  assert.deepEqual(JSON.parse(ps.stdout).map((c: { Names: string[] }) => c.Names[0]), ["c1"]);
  const inspect = await h.double("podman", ["container", "inspect", "--format", "json", "c1"]);
  assert.equal(JSON.parse(inspect.stdout)[0].Config.Labels["grapheon-tool"], "canary");
  const gone = await waitFor(
    () => h.double("podman", ["container", "inspect", "--format", "json", "c2"]),
    (r) => r.code !== 0,
  );
  assert.equal(gone.code, 125, "the crashed --rm container was removed");
});

Deno.test("a container whose host port is taken dies with 'cannot listen on port' (create retries on it)", async () => {
  await using h = await Harness.create();
  await h.install("backend", "0.3.0", { runTag: false });
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  const r = await h.double("podman", [
    "run",
    "-d",
    "--name",
    "blocked",
    "-p",
    `127.0.0.1:${port}:8000`,
    h.ref("backend", "0.3.0"),
  ]);
  assert.equal(r.code, 0);
  const logs = await waitFor(
    () => h.double("podman", ["logs", "blocked"]),
    (l) => l.stdout.includes("cannot listen"),
  );
  assert.match(logs.stdout, new RegExp(`cannot listen on port ${port}`));
});
