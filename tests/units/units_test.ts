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
  const backend = unit(units, "grapheon-backend.service");
  assert.deepEqual(keys(backend, "ExecStart"), [
    "/usr/bin/podman run --rm --replace --pull=never --name grapheon-backend --network=grapheon " +
    "-p 127.0.0.1:8000:8000 -v /var/lib/grapheon/data:/app/data:z -e DATA_DIR=/app/data " +
    "--env-file=/etc/grapheon/grapheon.env ghcr.io/badgerops/grapheon-backend:current",
  ]);
  assert.deepEqual(keys(backend, "ExecStartPre"), [
    "-/usr/bin/podman network create grapheon",
    "-/usr/bin/podman rm -f grapheon-backend",
  ]);
  assert.deepEqual(keys(backend, "ExecStop"), ["/usr/bin/podman stop -t 15 grapheon-backend"]);
  assert.deepEqual(keys(backend, "Restart"), ["always"]);
  assert.deepEqual(keys(backend, "TimeoutStopSec"), ["30s"]);
  const frontend = unit(units, "grapheon-frontend.service");
  assert.match(keys(frontend, "ExecStart")[0], / --network=grapheon -p 8080:8080 /);
  assert.match(keys(frontend, "ExecStart")[0], /grapheon-frontend:current$/);
  assert.deepEqual(keys(frontend, "PartOf"), ["grapheon-backend.service"]);
  const path = unit(units, UNIT.path);
  assert.deepEqual(keys(path, "PathExists"), ["/var/lib/grapheon/data/upgrade-requested"]);
  assert.deepEqual(keys(path, "Unit"), [UNIT.upgrade]);
  // Stops a spin (ten runs in a minute), not an operator retrying refused releases.
  assert.deepEqual(keys(path, "TriggerLimitIntervalSec"), ["60s"]);
  assert.deepEqual(keys(path, "TriggerLimitBurst"), ["10"]);
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
  assert.deepEqual(units.map((u) => u.name), [
    UNIT.images,
    "gb.service",
    "gf.service",
    UNIT.path,
    UNIT.upgrade,
    UNIT.recover,
  ]);
  const backend = unit(units, "gb.service");
  assert.deepEqual(keys(backend, "ExecStart"), [
    "/usr/bin/podman run --rm --replace --pull=never --name gb --network=host " +
    "-v /srv/graph/data:/data:z -e DATA_DIR=/data --env-file=/etc/g/env " +
    '--env-file=/run/secrets/jwt.env -e "GREETING=say \\"hi\\" 100%% $$HOME" ' +
    "-e LOG_LEVEL=debug 127.0.0.1:5000/lab/backend:running",
  ]);
  assert.deepEqual(keys(backend, "ExecStartPre"), ["-/usr/bin/podman rm -f gb"]);
  assert.deepEqual(keys(backend, "ExecStop"), ["/usr/bin/podman stop -t 5 gb"]);
  assert.deepEqual(keys(unit(units, "gf.service"), "PartOf"), ["gb.service"]);
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
  for (const p of ["podman", "grapheon-tool"]) {
    await Deno.writeTextFile(join(bin, p), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  }
  const withBin = configSchema.parse({ ...config, binPath: join(bin, "grapheon-tool") });
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
