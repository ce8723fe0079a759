/**
 * switchImages against a fake runner that models the real units: each unit
 * restarts only itself (no PartOf=: the frontend reaches the backend through
 * the backend's socket, units/grapheon-frontend.service), and a fake backend whose
 * health answer depends on the image it runs (`bad-b` answers 503, `silent-b` never answers).
 */
import assert from "node:assert/strict";
import { defaultConfig } from "../../lib/config/config.ts";
import { systemClock } from "../../lib/host/clock.ts";
import type { Runner } from "../../lib/host/exec.ts";
import type { Host } from "../../lib/host/host.ts";
import { HttpFailure } from "../../lib/host/http.ts";
import { recordingLogger } from "../../lib/cli/log.ts";
import { Podman } from "../../lib/host/podman.ts";
import { Systemd } from "../../lib/host/systemd.ts";
import { Bridge } from "../../lib/host/bridge.ts";
import { switchImages } from "../../lib/release/switch.ts";

/** A release that changes both images, on a host that ran the old ones. */
const BOTH_CHANGE = {
  target: { backend: "new-b", frontend: "new-f" },
  current: { backend: "old-b", frontend: "old-f" },
  backendVersion: "1.0.0",
} as const;

function fakeHost() {
  const config = defaultConfig();
  const tags = new Map<string, string>();
  const running = new Map<string, string>([["grapheon-backend", "old-b"], [
    "grapheon-frontend",
    "old-f",
  ]]);
  const restarts: string[] = [];
  /** The bridge netavark made for the network, as `ip` reports it; null: none yet. */
  const net: { bridge: { ifname: string; address: string; pinned: boolean } | null } = {
    bridge: { ifname: "podman1", address: "6a:1f:0e:52:9c:01", pinned: false },
  };
  /** Restarts, health requests and bridge pins, in the order they came. */
  const order: string[] = [];
  const start = (component: "backend" | "frontend") =>
    running.set(
      config[component].container,
      tags.get(`${config[component].image}:${config.runTag}`)!,
    );
  const runner: Runner = (argv) => {
    const [prog, verb, ...rest] = argv;
    const ok = (stdout = "") => Promise.resolve({ code: 0, stdout, stderr: "" });
    if (prog === "podman" && verb === "tag") {
      // As podman 4.3 tags (libimage Tag before containers/common#1700): it reads the image's
      // names, then writes the whole list back (c/storage SetNames, which takes each name from
      // any other image), so a tag running beside another can undo it.
      const [id, ref] = rest;
      const names = [...tags].filter(([, image]) => image === id).map(([name]) => name);
      return new Promise((resolve) =>
        setTimeout(() => {
          for (const name of [...names, ref]) tags.set(name, id);
          resolve({ code: 0, stdout: "", stderr: "" });
        }, 5)
      );
    }
    if (prog === "podman" && verb === "image" && rest[0] === "inspect") {
      const id = tags.get(rest.at(-1)!);
      return id ? ok(JSON.stringify([{ Id: id, RepoTags: [rest.at(-1)] }])) : Promise.resolve({
        code: 125,
        stdout: "[]",
        stderr: `Error: ${rest.at(-1)}: image not known`,
      });
    }
    if (prog === "podman" && verb === "container") {
      const name = rest.at(-1)!;
      const image = running.get(name);
      if (!image) {
        return Promise.resolve({
          code: 125,
          stdout: "[]",
          stderr: `Error: no such container ${name}`,
        });
      }
      return ok(
        JSON.stringify([{ Id: name, Image: image, State: { Status: "running", Running: true } }]),
      );
    }
    if (prog === "ip") return ipAnswer(argv.slice(1));
    if (prog === "systemctl" && verb === "restart") {
      restarts.push(rest[0]);
      order.push(`restart ${rest[0]}`);
      start(rest[0] === config.backend.service ? "backend" : "frontend");
      return ok();
    }
    return Promise.resolve({ code: 1, stdout: "", stderr: `unexpected ${argv.join(" ")}` });
  };
  /** iproute2's JSON, trimmed to the fields read (shapes as `ip -j` 6.1 prints them). */
  const ipAnswer = (args: string[]) => {
    const ok = (value: unknown) =>
      Promise.resolve({ code: 0, stdout: JSON.stringify(value), stderr: "" });
    const gateway = "10.89.0.1";
    const { bridge } = net;
    switch (args.join(" ")) {
      case `-j -4 addr show to ${gateway}`:
        return ok(
          bridge
            ? [{
              ifindex: 5,
              ifname: bridge.ifname,
              addr_info: [{ family: "inet", local: gateway, prefixlen: 24 }],
            }]
            : [],
        );
      case `-j -d link show dev ${bridge?.ifname}`:
        return ok([{
          ifindex: 5,
          ifname: bridge!.ifname,
          address: bridge!.address,
          linkinfo: { info_kind: "bridge", info_data: { stp_state: 0 } },
        }]);
      case `link set dev ${bridge?.ifname} address ${bridge?.address}`:
        bridge!.pinned = true;
        order.push(`pin ${bridge!.ifname}`);
        return ok("");
    }
    return Promise.resolve({ code: 1, stdout: "", stderr: `unexpected ip ${args.join(" ")}` });
  };
  const host: Host = {
    config,
    log: recordingLogger(),
    clock: systemClock,
    run: runner,
    http: (url) => {
      order.push(`GET ${url}`);
      const image = running.get(config.backend.container);
      if (image === "silent-b") {
        // What lib/host/http.ts throws when nothing listens.
        return Promise.reject(new HttpFailure("refused", "connection refused"));
      }
      const status = image === "bad-b" ? "unhealthy" : "healthy";
      return Promise.resolve({
        status: status === "healthy" ? 200 : 503,
        body: JSON.stringify({ status, version: "1.0.0" }),
      });
    },
    podman: new Podman(runner, "podman"),
    systemd: new Systemd(runner, "systemctl"),
    bridge: new Bridge(runner, "ip"),
  };
  return { host, restarts, running, order, tags, net };
}

Deno.test("switch: both images change: backend, its health, then frontend, each restarted once", async () => {
  const { host, restarts, running, order } = fakeHost();
  await switchImages(host, BOTH_CHANGE);
  assert.deepEqual(restarts, ["grapheon-backend.service", "grapheon-frontend.service"]);
  assert.equal(running.get("grapheon-frontend"), "new-f");
  const frontendAt = order.indexOf("restart grapheon-frontend.service");
  assert.ok(
    order.slice(0, frontendAt).some((e) => e === `GET ${host.config.backend.healthUrl}`),
    `the backend's health came before the frontend's restart: ${order.join(", ")}`,
  );
});

Deno.test("switch: a backend that answers unhealthy fails the switch; the frontend is not touched", async () => {
  const { host, restarts, running } = fakeHost();
  host.config.health.startPeriod = "0s";
  await assert.rejects(
    () =>
      switchImages(host, {
        target: { backend: "bad-b", frontend: "new-f" },
        current: { backend: "old-b", frontend: "old-f" },
        backendVersion: "1.0.0",
      }),
    /the backend failed its health check after .*, so the frontend was left as it was: .*unhealthy/,
  );
  assert.deepEqual(restarts, ["grapheon-backend.service"]);
  assert.equal(running.get("grapheon-frontend"), "old-f");
});

Deno.test("switch: a backend that never answers fails at the deadline, and the message says so", async () => {
  const { host, restarts, running } = fakeHost();
  host.config.timeouts.health = "1s";
  await assert.rejects(
    () =>
      switchImages(host, {
        target: { backend: "silent-b", frontend: "new-f" },
        current: { backend: "old-b", frontend: "old-f" },
        backendVersion: "1.0.0",
      }),
    /the backend was not healthy within 1(\.\d+)?s, so the frontend was left as it was: /,
  );
  assert.deepEqual(restarts, ["grapheon-backend.service"]);
  assert.equal(running.get("grapheon-frontend"), "old-f");
});

Deno.test("switch: a backend-only release leaves the frontend running (no PartOf=)", async () => {
  const { host, restarts, running } = fakeHost();
  await switchImages(host, {
    target: { backend: "new-b", frontend: "old-f" },
    current: { backend: "old-b", frontend: "old-f" },
    backendVersion: "1.0.0",
  });
  assert.deepEqual(restarts, ["grapheon-backend.service"]);
  assert.equal(running.get("grapheon-frontend"), "old-f");
});

Deno.test("switch: with current null both units are restarted (forced)", async () => {
  const { host, restarts } = fakeHost();
  await switchImages(host, {
    target: { backend: "new-b", frontend: "new-f" },
    current: null,
    backendVersion: "1.0.0",
  });
  assert.deepEqual(restarts, ["grapheon-backend.service", "grapheon-frontend.service"]);
});

Deno.test("switch: only the component that changes is restarted", async () => {
  const { host, restarts } = fakeHost();
  await switchImages(host, {
    target: { backend: "old-b", frontend: "new-f" },
    current: { backend: "old-b", frontend: "old-f" },
    backendVersion: "1.0.0",
  });
  assert.deepEqual(restarts, ["grapheon-frontend.service"]);
});

Deno.test("switch: the replaced images keep their version tags, and the run tags still move (one podman tag at a time)", async () => {
  const { host, running, tags } = fakeHost();
  const { backend, frontend, runTag } = host.config;
  tags.set(`${backend.image}:${runTag}`, "old-b");
  tags.set(`${frontend.image}:${runTag}`, "old-f");
  await switchImages(host, {
    target: { backend: "new-b", frontend: "new-f" },
    current: { backend: "old-b", frontend: "old-f" },
    backendVersion: "1.0.0",
    keep: {
      backend: { version: "0.9.0", imageId: "old-b" },
      frontend: { version: "0.9.0", imageId: "old-f" },
    },
  });
  assert.equal(tags.get(`${backend.image}:v0.9.0`), "old-b");
  assert.equal(tags.get(`${frontend.image}:v0.9.0`), "old-f");
  assert.equal(tags.get(`${backend.image}:${runTag}`), "new-b");
  assert.equal(tags.get(`${frontend.image}:${runTag}`), "new-f");
  assert.equal(running.get("grapheon-frontend"), "new-f");
});

Deno.test("switch: the network bridge's address is pinned before the backend's container leaves it", async () => {
  const { host, order, net } = fakeHost();
  await switchImages(host, BOTH_CHANGE);
  assert.equal(net.bridge?.pinned, true);
  assert.deepEqual(order.slice(0, 2), ["pin podman1", "restart grapheon-backend.service"]);
});

Deno.test("switch: no bridge yet, or the host network: nothing is pinned, the swap goes on", async () => {
  for (const setUp of ["no bridge", "host network"]) {
    const { host, restarts, order, net } = fakeHost();
    if (setUp === "no bridge") net.bridge = null;
    else host.config.network = "host";
    await switchImages(host, BOTH_CHANGE);
    assert.deepEqual(restarts, ["grapheon-backend.service", "grapheon-frontend.service"], setUp);
    assert.ok(!order.some((e) => e.startsWith("pin")), setUp);
  }
});

Deno.test("switch: an ip that fails is a warning, not a failed swap", async () => {
  const { host, restarts } = fakeHost();
  host.bridge = new Bridge(host.run, "missing-ip");
  await switchImages(host, BOTH_CHANGE);
  assert.deepEqual(restarts, ["grapheon-backend.service", "grapheon-frontend.service"]);
  const log = host.log as ReturnType<typeof recordingLogger>;
  const warning = log.lines.find((l) => l.level === "warn")?.msg ?? "";
  assert.match(warning, /cannot pin the address of the container network's bridge \(.*missing-ip/);
});
