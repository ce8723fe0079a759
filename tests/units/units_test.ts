/** Rendering of the systemd units from units/ and their check by systemd-analyze verify. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Config, configSchema, defaultConfig } from "../../lib/config/config.ts";
import { ConfigError } from "../../lib/core/errors.ts";
import {
  loadTemplates,
  type RenderInputs,
  renderUnits,
  UNIT,
  upgradeTimeoutSeconds,
} from "../../lib/install/units.ts";
import { execArg, placeholders, renderTemplate } from "../../lib/install/unit_template.ts";
import { verifyUnavailable, verifyUnits } from "./verify.ts";

const templates = await loadTemplates();

function inputs(config: Config, extra: Partial<RenderInputs> = {}): RenderInputs {
  return {
    config,
    configPath: "/etc/grapheon/grapheon-tool.json",
    podmanPath: "/usr/bin/podman",
    shPath: "/bin/sh",
    ...extra,
  };
}

function unit(units: { name: string; text: string }[], name: string): string {
  const u = units.find((x) => x.name === name);
  assert.ok(u, `unit ${name} rendered`);
  return u.text;
}

/** The value of `Key=` lines in a unit text. */
function keys(text: string, key: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(key + "=")).map((l) =>
    l.slice(key.length + 1)
  );
}

Deno.test("templates: every file in units/ is rendered and no placeholder is left", () => {
  const units = renderUnits(templates, inputs(defaultConfig()));
  assert.deepEqual(units.map((u) => u.template).sort(), Object.keys(templates).sort());
  for (const u of units) assert.equal(placeholders(u.text).length, 0, u.name);
  for (const u of units) assert.doesNotMatch(u.text, /@[A-Z_]+@/, u.name);
});

Deno.test("default config: container units run the local tag, never pull, fix DATA_DIR", () => {
  const units = renderUnits(templates, inputs(defaultConfig()));
  assert.deepEqual(units.map((u) => `${u.name} ${u.enable}`), [
    `${UNIT.images} now`,
    "grapheon-backend.socket now",
    "grapheon-backend.service now",
    "grapheon-backend-bridge.socket now",
    "grapheon-backend-bridge.service no",
    "grapheon-frontend.socket now",
    "grapheon-frontend.service now",
    `${UNIT.path} now`,
    `${UNIT.upgrade} no`,
    `${UNIT.recover} boot`,
  ]);
  const backend = unit(units, "grapheon-backend.service");
  // No -p: the socket unit owns the port, and uvicorn serves it (UVICORN_FD=3).
  assert.deepEqual(keys(backend, "ExecStart"), [
    "/usr/bin/podman run --rm --replace --pull=never --name grapheon-backend --network=grapheon " +
    "-v /var/lib/grapheon/data:/app/data:z -e DATA_DIR=/app/data -e UVICORN_FD=3 " +
    "--env-file=/etc/grapheon/grapheon.env ghcr.io/badgerops/grapheon-backend:current",
  ]);
  // No podman process before the container's own (each one lengthens every swap).
  assert.deepEqual(keys(backend, "ExecStartPre"), []);
  assert.deepEqual(keys(backend, "Requires"), ["grapheon-backend.socket"]);
  assert.deepEqual(keys(backend, "StartLimitIntervalSec"), ["0"]);
  assert.deepEqual(keys(backend, "ExecStop"), ["/usr/bin/podman stop -t 15 grapheon-backend"]);
  assert.deepEqual(keys(backend, "Restart"), ["always"]);
  assert.deepEqual(keys(backend, "TimeoutStopSec"), ["30s"]);
  assert.deepEqual(keys(unit(units, "grapheon-backend.socket"), "ListenStream"), [
    "127.0.0.1:8000",
  ]);
  assert.deepEqual(keys(unit(units, "grapheon-backend-bridge.socket"), "ListenStream"), [
    "10.89.0.1:8000",
  ]);
  assert.deepEqual(keys(unit(units, "grapheon-backend-bridge.service"), "ExecStart"), [
    "/usr/lib/systemd/systemd-socket-proxyd 127.0.0.1:8000",
  ]);
  assert.deepEqual(keys(unit(units, UNIT.images), "ExecStartPre"), [
    "-/usr/bin/podman network create --subnet=10.89.0.0/24 grapheon",
  ]);
  const frontend = unit(units, "grapheon-frontend.service");
  assert.match(
    keys(frontend, "ExecStart")[0],
    / --network=grapheon --add-host=grapheon-backend:10\.89\.0\.1 -e "NGINX=3;" /,
  );
  assert.doesNotMatch(keys(frontend, "ExecStart")[0], / -p /);
  assert.match(keys(frontend, "ExecStart")[0], /grapheon-frontend:current$/);
  assert.deepEqual(keys(frontend, "PartOf"), []);
  // Five deliberate restarts in ten seconds must not close nginx's socket.
  assert.deepEqual(keys(frontend, "StartLimitIntervalSec"), ["0"]);
  assert.deepEqual(keys(frontend, "Requires"), ["grapheon-frontend.socket"]);
  // nginx adopts the socket only if it is the address its `listen 8080` names.
  assert.deepEqual(keys(unit(units, "grapheon-frontend.socket"), "ListenStream"), [
    "0.0.0.0:8080",
  ]);
  const path = unit(units, UNIT.path);
  assert.deepEqual(keys(path, "PathExists"), ["/var/lib/grapheon/data/upgrade-requested"]);
  assert.deepEqual(keys(path, "Unit"), [UNIT.upgrade]);
  // Stops a spin (thirty runs in a minute), not an operator retrying refused releases.
  assert.deepEqual(keys(path, "TriggerLimitIntervalSec"), ["60s"]);
  assert.deepEqual(keys(path, "TriggerLimitBurst"), ["30"]);
  const upgrade = unit(units, UNIT.upgrade);
  assert.deepEqual(keys(upgrade, "ExecStart"), ["/opt/grapheon/bin/grapheon-tool upgrade"]);
  assert.deepEqual(keys(upgrade, "Type"), ["oneshot"]);
  // 2·3·300 + 90 + 2·(2·90 + 120) + 300
  assert.deepEqual(keys(upgrade, "TimeoutStartSec"), ["2790s"]);
  assert.equal(upgradeTimeoutSeconds(defaultConfig()), 2790);
  const recover = unit(units, UNIT.recover);
  assert.deepEqual(keys(recover, "ExecStart"), [
    "/opt/grapheon/bin/grapheon-tool upgrade --recover",
  ]);
  assert.deepEqual(keys(recover, "WantedBy"), ["multi-user.target"]);
  // Once per boot: it stays active after its run, so a later start of multi-user.target
  // (NixOS's switch-to-configuration, every nixos-rebuild switch) does not run it again.
  assert.deepEqual(keys(recover, "Type"), ["oneshot"]);
  assert.deepEqual(keys(recover, "RemainAfterExit"), ["yes"]);
});

const custom = configSchema.parse({
  dataDir: "/srv/graph/data",
  stateDir: "/srv/graph/state",
  binPath: "/usr/local/bin/grapheon-tool",
  envFile: "/etc/g/env",
  runTag: "running",
  network: "host",
  backend: {
    image: "127.0.0.1:5000/lab/backend",
    service: "gb.service",
    container: "gb",
    containerDataDir: "/data",
    environment: { LOG_LEVEL: "debug", GREETING: 'say "hi" 100% $HOME' },
    envFiles: ["/run/secrets/jwt.env"],
  },
  frontend: { service: "gf.service", container: "gf" },
  timeouts: { pull: "2m", pullRetries: 0, restart: "30s", health: "45s", canary: "1m", stop: "5s" },
  canary: { enabled: false },
});

Deno.test("custom config: paths, names, host network, quoting and the timeout formula", () => {
  const units = renderUnits(templates, inputs(custom, { protectHome: "read-only" }));
  // Host network: no relay on a gateway; the frontend's port equals nginx's, so its socket too.
  assert.deepEqual(units.map((u) => u.name), [
    UNIT.images,
    "gb.socket",
    "gb.service",
    "gf.socket",
    "gf.service",
    UNIT.path,
    UNIT.upgrade,
    UNIT.recover,
  ]);
  const backend = unit(units, "gb.service");
  assert.deepEqual(keys(backend, "ExecStart"), [
    "/usr/bin/podman run --rm --replace --pull=never --name gb --network=host " +
    "-v /srv/graph/data:/data:z -e DATA_DIR=/data -e UVICORN_FD=3 --env-file=/etc/g/env " +
    '--env-file=/run/secrets/jwt.env -e "GREETING=say \\"hi\\" 100%% $$HOME" ' +
    "-e LOG_LEVEL=debug 127.0.0.1:5000/lab/backend:running",
  ]);
  assert.deepEqual(keys(backend, "ExecStartPre"), []);
  assert.deepEqual(keys(backend, "Requires"), ["gb.socket"]);
  assert.deepEqual(keys(backend, "ExecStop"), ["/usr/bin/podman stop -t 5 gb"]);
  assert.deepEqual(keys(unit(units, UNIT.images), "ExecStartPre"), []);
  assert.match(keys(unit(units, "gf.service"), "ExecStart")[0], / --network=host -e "NGINX=3;" /);
  assert.deepEqual(keys(unit(units, UNIT.path), "PathExists"), [
    "/srv/graph/data/upgrade-requested",
  ]);
  const upgrade = unit(units, UNIT.upgrade);
  // 2·1·120 + 0 (no canary) + 2·(2·30 + 45) + 300
  assert.deepEqual(keys(upgrade, "TimeoutStartSec"), ["750s"]);
  assert.deepEqual(keys(upgrade, "ProtectHome"), ["read-only"]);
  assert.deepEqual(keys(upgrade, "RequiresMountsFor"), ["/srv/graph/data /srv/graph/state"]);
  assert.match(unit(units, UNIT.images), /127\.0\.0\.1:5000\/lab\/backend:running \|\|/);
});

Deno.test("a frontend nginx cannot adopt a socket for is published by Podman; a backend on all addresses needs no relay", () => {
  const config = configSchema.parse({
    backend: { bindAddress: "" },
    frontend: { bindAddress: "127.0.0.1" },
    networkSubnet: "10.90.4.0/22",
  });
  const units = renderUnits(templates, inputs(config));
  assert.deepEqual(units.map((u) => u.name).filter((n) => n.endsWith(".socket")), [
    "grapheon-backend.socket",
  ]);
  assert.deepEqual(keys(unit(units, "grapheon-backend.socket"), "ListenStream"), ["8000"]);
  const exec = keys(unit(units, "grapheon-frontend.service"), "ExecStart")[0];
  assert.match(exec, / --add-host=grapheon-backend:10\.90\.4\.1 -p 127\.0\.0\.1:8080:8080 /);
  assert.doesNotMatch(exec, /NGINX/);
  assert.deepEqual(keys(unit(units, "grapheon-frontend.service"), "Requires"), []);
  const other = configSchema.parse({ frontend: { port: 80 } });
  assert.match(
    keys(unit(renderUnits(templates, inputs(other)), "grapheon-frontend.service"), "ExecStart")[0],
    / -p 80:8080 /,
  );
});

Deno.test("networkSubnet: a network address with a prefix of 8 to 30, else an error naming it", () => {
  for (const bad of ["10.89.0.1/24", "10.89.0.0/31", "10.89.0.0", "300.1.0.0/16", "10.0.0.0/7"]) {
    const r = configSchema.safeParse({ networkSubnet: bad });
    assert.equal(r.success, false, bad);
    assert.deepEqual(r.error?.issues[0].path, ["networkSubnet"], bad);
  }
  assert.equal(
    configSchema.parse({ networkSubnet: "172.30.8.0/21" }).networkSubnet,
    "172.30.8.0/21",
  );
});

Deno.test("a value that cannot go into a unit is a ConfigError naming the field", () => {
  const bad = configSchema.parse({ dataDir: "/var/lib/my data" });
  assert.throws(() => renderUnits(templates, inputs(bad)), (err) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^dataDir: /);
    return true;
  });
  assert.throws(
    () => renderUnits(templates, inputs(defaultConfig(), { podmanPath: "/opt/p%d/podman" })),
    /commands\.podman/,
  );
});

Deno.test("renderTemplate: whole-line empty placeholders vanish, names must match", () => {
  assert.equal(renderTemplate("a\n@X@\nb @Y@\n", { X: "", Y: "$1" }), "a\nb $1\n");
  assert.equal(renderTemplate("a\n@X@\nb\n", { X: "k=v" }), "a\nk=v\nb\n");
  assert.throws(() => renderTemplate("@X@", {}), /no value for @X@/);
  assert.throws(() => renderTemplate("x", { X: "1" }), /does not use @X@/);
  assert.equal(execArg("a=b"), "a=b");
  assert.equal(execArg("a b"), '"a b"');
  assert.equal(execArg("\\"), '"\\\\"');
});

async function verifyRendered(config: Config, dir: string) {
  const bin = join(dir, "bin");
  await Deno.mkdir(bin, { recursive: true });
  for (const p of ["podman", "grapheon-tool", "systemd-socket-proxyd"]) {
    await Deno.writeTextFile(join(bin, p), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  }
  const withBin = configSchema.parse({
    ...config,
    binPath: join(bin, "grapheon-tool"),
    commands: { ...config.commands, socketProxyd: join(bin, "systemd-socket-proxyd") },
  });
  const units = renderUnits(templates, inputs(withBin, { podmanPath: join(bin, "podman") }));
  const files = [];
  for (const u of units) {
    const f = join(dir, u.name);
    await Deno.writeTextFile(f, u.text);
    files.push(f);
  }
  return { files, result: await verifyUnits(files) };
}

const ignoreVerify = await verifyUnavailable();

Deno.test({
  name: "systemd-analyze verify accepts every rendered unit (default and custom configs)",
  ignore: ignoreVerify,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "grapheon-units-" });
    try {
      for (const [i, config] of [defaultConfig(), custom].entries()) {
        const sub = join(dir, String(i));
        const { result } = await verifyRendered(config, sub);
        assert.deepEqual(result.problems, [], `config ${i}`);
        assert.equal(result.code, 0, `config ${i}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "systemd-analyze verify catches a missing binary and an unknown key (the check can fail)",
  ignore: ignoreVerify,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "grapheon-units-" });
    try {
      const { files } = await verifyRendered(defaultConfig(), dir);
      const upgrade = files.find((f) => f.endsWith(UNIT.upgrade))!;
      await Deno.remove(join(dir, "bin", "grapheon-tool"));
      const missing = await verifyUnits([upgrade]);
      assert.notEqual(missing.code, 0);
      const path = files.find((f) => f.endsWith(UNIT.path))!;
      await Deno.writeTextFile(
        path,
        (await Deno.readTextFile(path)).replace("MakeDirectory", "MakeDirectoryy"),
      );
      const unknown = await verifyUnits([path]);
      assert.ok(
        unknown.problems.some((l) => l.includes("MakeDirectoryy")),
        unknown.problems.join(),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
