/**
 * The Nix side without nixpkgs (none can be fetched here): every .nix file
 * parses; nix/render.nix renders the same bytes as lib/install/units.ts; the NixOS
 * module (evaluated with stand-ins for lib, tests/nix/eval_module.nix) generates
 * a tool config that passes `grapheon-tool config --check` and units equal to
 * the rendered templates; the flake and package wiring (tests/nix/eval_flake.nix);
 * the dependency hash matches deno.lock; nix/defaults.json is current.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, configSchema, defaultConfig, parseConfig } from "../../lib/config/config.ts";
import { run } from "../../lib/host/exec.ts";
import {
  loadTemplates,
  renderUnits,
  UNIT,
  upgradeTimeoutSeconds,
} from "../../lib/install/units.ts";
import { defaultsJson } from "../../scripts/nix_defaults.ts";
import { compileArgs } from "../../scripts/compile.ts";
import spec from "../../scripts/compile_spec.json" with { type: "json" };

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const templates = await loadTemplates();

async function haveNix(): Promise<boolean> {
  try {
    return (await run(["nix-instantiate", "--version"], { timeoutMs: 10_000 })).code === 0;
  } catch {
    return false;
  }
}
const noNix = !(await haveNix());
if (noNix && Deno.env.get("CI") === "true") {
  throw new Error("nix-instantiate is missing under CI=true: run scripts/setup.sh");
}

async function nixEval(args: string[]): Promise<unknown> {
  const r = await run(["nix-instantiate", "--eval", "--strict", "--json", ...args], {
    timeoutMs: 60_000,
    cwd: REPO,
  });
  if (r.code !== 0) throw new Error(`nix-instantiate ${args.join(" ")}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "grapheon-nix-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function nixFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(REPO, dir))) {
    if (e.isFile && e.name.endsWith(".nix")) out.push(join(dir, e.name));
  }
  return out;
}

type NixUnit = { name: string; template: string; group: string; enable: string; text: string };

/** nix/render.nix for a complete config, through a JSON file. */
function renderWithNix(config: Config, podman: string, sh: string): Promise<NixUnit[]> {
  return withTemp(async (dir) => {
    const file = join(dir, "settings.json");
    await Deno.writeTextFile(file, JSON.stringify(config));
    const expr = `(import ./nix/render.nix { settings = builtins.fromJSON (builtins.readFile ${
      JSON.stringify(file)
    }); podman = ${JSON.stringify(podman)}; sh = ${JSON.stringify(sh)}; }).units`;
    return await nixEval(["-E", expr]) as NixUnit[];
  });
}

const nixTest = (name: string, fn: () => Promise<void>) => Deno.test({ name, ignore: noNix, fn });

nixTest("every .nix file parses (nix-instantiate --parse)", async () => {
  const files = ["flake.nix", ...await nixFiles("nix"), ...await nixFiles("tests/nix")];
  assert.ok(files.length >= 7, files.join());
  for (const f of files) {
    const r = await run(["nix-instantiate", "--parse", join(REPO, f)], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `${f}: ${r.stderr}`);
  }
});

const custom = configSchema.parse({
  dataDir: "/srv/graph/data",
  runTag: "running",
  network: "host",
  backend: {
    image: "127.0.0.1:5000/lab/backend",
    service: "gb.service",
    environment: { LOG_LEVEL: "debug", GREETING: 'say "hi" 100% $HOME \\o/' },
    envFiles: ["/run/secrets/jwt.env"],
  },
  frontend: { bindAddress: "0.0.0.0", port: 80 },
  timeouts: { pull: "1.5m", pullRetries: 0, restart: "2500ms", health: "45", stop: "5s" },
  canary: { enabled: false },
});

nixTest(
  "render.nix renders exactly what lib/install/units.ts renders (default and custom)",
  async () => {
    for (const config of [defaultConfig(), custom]) {
      const ts = renderUnits(templates, {
        config,
        configPath: "/etc/grapheon/grapheon-tool.json",
        podmanPath: "/usr/bin/podman",
        shPath: "/bin/sh",
      });
      const nix = await renderWithNix(config, "/usr/bin/podman", "/bin/sh");
      assert.deepEqual(nix.map((u) => u.name), ts.map((u) => u.name));
      for (const [i, u] of ts.entries()) {
        assert.equal(nix[i].text, u.text, `${u.name} differs`);
        assert.deepEqual([nix[i].template, nix[i].group, nix[i].enable], [
          u.template,
          u.group,
          u.enable,
        ]);
      }
    }
  },
);

nixTest("render.nix refuses a value that cannot go into a unit, naming the field", async () => {
  const bad = configSchema.parse({ dataDir: "/var/lib/my data" });
  await assert.rejects(
    renderWithNix(bad, "/usr/bin/podman", "/bin/sh"),
    /dataDir: "\/var\/lib\/my data" cannot go into a systemd unit/,
  );
});

interface ModuleEval {
  cfg: Record<string, unknown>;
  podman: string;
  sh: string;
  config: {
    systemd: {
      units: Record<string, { text: string; wantedBy: string[] }>;
      tmpfiles: { rules: string[] };
    };
    environment: {
      etc: Record<string, { source: { json: string; script: string; passAsFile: string[] } }>;
      systemPackages: string[];
    };
    networking: { firewall: { allowedTCPPorts: number[] | null } };
    virtualisation: { podman: { enable: boolean } };
  };
}

const PACKAGE = "/nix/store/33333333333333333333333333333333-grapheon-tool-0.1.0";

function evalModule(values: Record<string, unknown>): Promise<ModuleEval> {
  return withTemp(async (dir) => {
    const file = join(dir, "values.json");
    await Deno.writeTextFile(file, JSON.stringify({ enable: true, package: PACKAGE, ...values }));
    return await nixEval([
      "tests/nix/eval_module.nix",
      "--argstr",
      "valuesFile",
      file,
    ]) as ModuleEval;
  });
}

/** Runs `grapheon-tool config --check` on the module's generated config. */
function configCheck(text: string) {
  return withTemp(async (dir) => {
    const file = join(dir, "grapheon-tool.json");
    await Deno.writeTextFile(file, text);
    return await run(
      [
        Deno.execPath(),
        "run",
        "-A",
        "--config",
        join(REPO, "deno.json"),
        join(REPO, "main.ts"),
        "config",
        "--check",
        file,
      ],
      { timeoutMs: 60_000 },
    );
  });
}

async function assertModuleMatchesTemplates(m: ModuleEval, expectUpgrade: boolean) {
  const text = m.config.environment.etc["grapheon/grapheon-tool.json"].source.json;
  const check = await configCheck(text);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /: valid$/m);
  const config = parseConfig(text, "module");
  const ts = renderUnits(templates, {
    config,
    configPath: "/etc/grapheon/grapheon-tool.json",
    podmanPath: `${m.podman}/bin/podman`,
    shPath: m.sh,
  }).filter((u) => expectUpgrade || u.group === "containers");
  assert.deepEqual(Object.keys(m.config.systemd.units).sort(), ts.map((u) => u.name).sort());
  for (const u of ts) {
    const got = m.config.systemd.units[u.name];
    assert.equal(got.text, u.text, `${u.name} differs from the rendered template`);
    assert.deepEqual(got.wantedBy, u.enable === "no" ? [] : ["multi-user.target"], u.name);
  }
  return config;
}

nixTest(
  "module with defaults: valid tool config, units equal to units/ rendered, upgrade ExecStart",
  async () => {
    const m = await evalModule({});
    const config = await assertModuleMatchesTemplates(m, true);
    assert.equal(config.binPath, `${PACKAGE}/bin/grapheon-tool`);
    assert.equal(config.commands.podman, `${m.podman}/bin/podman`);
    // Every program by store path: the units run with systemd's minimal PATH.
    for (const [name, path] of Object.entries(config.commands)) {
      assert.match(path, /^\/nix\/store\/[0-9a-z]{32}-[^/]+\/bin\/[a-z-]+$/, `commands.${name}`);
    }
    assert.equal(
      config.commands.df,
      "/nix/store/55555555555555555555555555555555-coreutils-9.5/bin/df",
    );
    const upgrade = m.config.systemd.units[UNIT.upgrade].text;
    assert.match(upgrade, new RegExp(`^ExecStart=${PACKAGE}/bin/grapheon-tool upgrade$`, "m"));
    assert.match(upgrade, new RegExp(`^TimeoutStartSec=${upgradeTimeoutSeconds(config)}s$`, "m"));
    assert.match(
      m.config.systemd.units[UNIT.path].text,
      /^PathExists=\/var\/lib\/grapheon\/data\/upgrade-requested$/m,
    );
    const backend = m.config.systemd.units["grapheon-backend.service"].text;
    assert.match(backend, / --pull=never .* -e DATA_DIR=\/app\/data .*:current$/m);
    assert.match(backend, /^ExecStop=\S+\/bin\/podman stop -t 15 grapheon-backend$/m);
    assert.deepEqual(m.config.systemd.tmpfiles.rules, [
      "d /var/lib/grapheon/data 0755 root root -",
      "d /var/lib/grapheon-tool 0700 root root -",
      "f /etc/grapheon/grapheon.env 0600 root root -",
    ]);
    assert.equal(m.config.virtualisation.podman.enable, true);
    assert.deepEqual(m.config.environment.systemPackages, [PACKAGE]);
    assert.equal(m.config.networking.firewall.allowedTCPPorts, null);
  },
);

nixTest(
  "module with custom options: tags, ports, env, env files, settings, no upgrade units",
  async () => {
    const m = await evalModule({
      dataDir: "/persistent/grapheon",
      openFirewall: true,
      backend: {
        tag: "v0.10.4",
        port: 9000,
        environment: { LOG_LEVEL: "info", MOTTO: "100% $real" },
        environmentFiles: ["/run/secrets/jwt.env"],
      },
      frontend: { image: "registry.example.org/grapheon-frontend", tag: "v0.10.3", port: 9080 },
      upgrade: { enable: false, settings: { timeouts: { health: "60s" }, backups: { keep: 9 } } },
    });
    const config = await assertModuleMatchesTemplates(m, false);
    assert.equal(config.dataDir, "/persistent/grapheon");
    assert.equal(config.backend.seedTag, "v0.10.4");
    assert.equal(config.backend.healthUrl, "http://localhost:9000/health");
    assert.deepEqual(config.backend.envFiles, ["/run/secrets/jwt.env"]);
    assert.equal(config.frontend.url, "http://localhost:9080/");
    assert.equal(config.timeouts.health, "60s");
    assert.equal(config.timeouts.pull, "300s");
    assert.equal(config.backups.keep, 9);
    const backend = m.config.systemd.units["grapheon-backend.service"].text;
    assert.match(backend, / -p 127\.0\.0\.1:9000:8000 -v \/persistent\/grapheon:\/app\/data:z /);
    assert.match(
      backend,
      / --env-file=\/run\/secrets\/jwt\.env -e LOG_LEVEL=info -e "MOTTO=100%% \$\$real" /,
    );
    assert.deepEqual(m.config.networking.firewall.allowedTCPPorts, [9080]);
    assert.equal(m.config.systemd.units[UNIT.path], undefined);
  },
);

nixTest(
  "bad upgrade.settings: a bad duration stops evaluation, a bad value fails config --check",
  async () => {
    await assert.rejects(
      evalModule({ upgrade: { settings: { timeouts: { health: "soon" } } } }),
      /not a duration: soon/,
    );
    const m = await evalModule({ upgrade: { settings: { backups: { keep: 0 } } } });
    const etc = m.config.environment.etc["grapheon/grapheon-tool.json"].source;
    // The module runs the same check when it builds the file.
    assert.match(
      etc.script,
      new RegExp(`^${PACKAGE}/bin/grapheon-tool config --check "\\$jsonPath"$`, "m"),
    );
    assert.deepEqual(etc.passAsFile, ["json"]);
    const check = await configCheck(etc.json);
    assert.equal(check.code, 3);
    assert.match(check.stderr, /field backups\.keep/);
  },
);

nixTest("flake outputs and package.nix wiring (nixpkgs stand-in)", async () => {
  const f = await nixEval(["tests/nix/eval_flake.nix"]) as {
    outputs: string[];
    systems: string[];
    packages: string[];
    checks: string[];
    overlayPackage: string;
    moduleImports: string[];
    modulePackage: string;
    package: {
      pname: string;
      version: string;
      dontStrip: boolean;
      buildPhase: string;
      meta: { mainProgram: string; platforms: string[] };
      depsHash: string;
      depsMode: string;
      depsBuild: string;
    };
  };
  assert.deepEqual(f.outputs, ["checks", "devShells", "nixosModules", "overlays", "packages"]);
  assert.deepEqual(f.systems, ["aarch64-linux", "x86_64-linux"]);
  assert.deepEqual(f.packages, ["default", "grapheon-tool"]);
  assert.deepEqual(f.checks, ["module", "package"]);
  assert.equal(f.overlayPackage, "grapheon-tool");
  assert.ok(f.moduleImports[0].endsWith("/nix/module.nix"));
  assert.match(f.modulePackage, /-grapheon-tool-0\.1\.0$/);
  const p = f.package;
  assert.equal(p.version, JSON.parse(await Deno.readTextFile(join(REPO, "deno.json"))).version);
  assert.equal(p.dontStrip, true);
  assert.deepEqual(p.meta.platforms, ["aarch64-linux", "x86_64-linux"]);
  assert.equal(p.meta.mainProgram, "grapheon-tool");
  assert.equal(p.depsMode, "recursive");
  assert.match(p.depsBuild, /deno install --frozen --entrypoint main\.ts/);
  // The same flags as scripts/compile.ts, for the aarch64 target, offline, with nixpkgs' denort.
  assert.match(p.buildPhase, /export DENORT_BIN=\S+-denort\/bin\/denort/);
  assert.match(
    p.buildPhase,
    /deno compile --cached-only --frozen --target aarch64-unknown-linux-gnu/,
  );
  for (const flag of compileArgs("aarch64-linux").filter((a) => a.startsWith("--allow"))) {
    assert.ok(p.buildPhase.includes(`'${flag}'`), flag);
  }
  assert.ok(p.buildPhase.includes(`--include '${spec.include[0]}'`));
});

nixTest("depsHash in nix/package.nix is the hash of deno.lock's npm packages", async () => {
  const lock = JSON.parse(await Deno.readTextFile(join(REPO, "deno.lock"))) as {
    npm: Record<string, unknown>;
  };
  const info = await run([Deno.execPath(), "info", "--json"], { timeoutMs: 30_000 });
  const denoDir = Deno.env.get("DENO_DIR") || JSON.parse(info.stdout).denoDir;
  await withTemp(async (dir) => {
    for (const key of Object.keys(lock.npm)) {
      const at = key.lastIndexOf("@");
      const [name, version] = [key.slice(0, at), key.slice(at + 1).replace(/_.*$/, "")];
      const from = join(denoDir, "npm/registry.npmjs.org", name, version);
      const to = join(dir, "npm/registry.npmjs.org", name);
      await Deno.mkdir(to, { recursive: true });
      const cp = await run(["cp", "-r", from, join(to, version)]);
      assert.equal(cp.code, 0, `${key} is not in the Deno cache (${from}): ${cp.stderr}`);
    }
    const r = await run([
      "nix",
      "--extra-experimental-features",
      "nix-command",
      "hash",
      "path",
      "--sri",
      dir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const pkg = await Deno.readTextFile(join(REPO, "nix/package.nix"));
    const declared = /depsHash \? "(sha256-[^"]+)"/.exec(pkg)?.[1];
    assert.equal(declared, r.stdout.trim(), "run nix/update-deps-hash.sh and update depsHash");
  });
});

/** Paths where `sub` differs from `full` (keys only in `full` are fine: the tool fills them in). */
function drift(sub: unknown, full: unknown, path = ""): string[] {
  if (sub && full && typeof sub === "object" && typeof full === "object" && !Array.isArray(sub)) {
    return Object.entries(sub).flatMap(([k, v]) =>
      k in full
        ? drift(v, (full as Record<string, unknown>)[k], `${path}${k}.`)
        : [`${path}${k} (no longer a config key)`]
    );
  }
  return JSON.stringify(sub) === JSON.stringify(full) ? [] : [`${path.slice(0, -1)}`];
}

Deno.test("nix/defaults.json agrees with the tool's defaults", async () => {
  const file = JSON.parse(await Deno.readTextFile(join(REPO, "nix/defaults.json")));
  assert.deepEqual(
    drift(file, defaultConfig()),
    [],
    "nix/defaults.json is stale: run deno run -A scripts/nix_defaults.ts",
  );
  assert.deepEqual(drift({ a: 1, b: { c: [1] } }, { a: 1, b: { c: [2] }, d: 3 }), ["b.c"]);
  assert.equal(defaultsJson(), JSON.stringify(defaultConfig(), null, 2) + "\n");
});

Deno.test("compile arguments come from scripts/compile_spec.json", () => {
  assert.deepEqual(compileArgs("x86_64-linux"), [
    "compile",
    "--frozen",
    "--target",
    "x86_64-unknown-linux-gnu",
    ...spec.permissions,
    "--include",
    "units/",
    "--output",
    "dist/grapheon-tool-x86_64-linux",
    "main.ts",
  ]);
  assert.equal(compileArgs("aarch64-linux").at(-2), "dist/grapheon-tool-aarch64-linux");
});
