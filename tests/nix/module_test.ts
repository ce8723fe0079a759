/**
 * nix/module.nix evaluated with nixpkgs' real lib.evalModules and the NixOS
 * option declarations of tests/nix/nixos_options.nix (nixpkgs' types):
 * the tool config it generates passes `grapheon-tool config --check`, its units
 * are the templates rendered from that config byte for byte, upgrade.settings
 * merges across modules as nixpkgs' JSON type does, and the units it renders
 * pass `systemd-analyze verify` with the programs of this machine.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../../lib/config/config.ts";
import { run } from "../../lib/host/exec.ts";
import {
  loadTemplates,
  renderUnits,
  UNIT,
  upgradeTimeoutSeconds,
} from "../../lib/install/units.ts";
import { verifyUnavailable, verifyUnits } from "../units/verify.ts";
import {
  evalModule,
  type ModuleEval,
  nixTest,
  nixUnavailable,
  REPO,
  withTemp,
} from "./nix_eval.ts";

const templates = await loadTemplates();
const PACKAGE = "/nix/store/33333333333333333333333333333333-grapheon-tool-0.1.0";
const CONFIG = "grapheon/grapheon-tool.json";

function evalWith(values: Record<string, unknown>, modules?: string): Promise<ModuleEval> {
  return evalModule({ enable: true, package: PACKAGE, ...values }, { modules });
}

/** Runs `grapheon-tool config --check` on the module's generated config. */
function configCheck(text: string) {
  return withTemp(async (dir) => {
    const file = join(dir, "grapheon-tool.json");
    await Deno.writeTextFile(file, text);
    return await run(
      [Deno.execPath(), "run", "-A", "--config", join(REPO, "deno.json"), join(REPO, "main.ts")]
        .concat(["config", "--check", file]),
      { timeoutMs: 60_000 },
    );
  });
}

async function assertModuleMatchesTemplates(m: ModuleEval, expectUpgrade: boolean) {
  const text = m.config.environment.etc[CONFIG].source.json;
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
    const target = u.name.endsWith(".socket") ? "sockets.target" : "multi-user.target";
    assert.deepEqual(got.wantedBy, u.enable === "no" ? [] : [target], u.name);
  }
  return config;
}

nixTest("module with defaults: valid tool config, units equal to units/ rendered", async () => {
  const m = await evalWith({});
  const config = await assertModuleMatchesTemplates(m, true);
  assert.equal(config.binPath, `${PACKAGE}/bin/grapheon-tool`);
  assert.equal(config.commands.podman, `${m.podman}/bin/podman`);
  // Every program by store path: the units run with systemd's minimal PATH.
  for (const [name, path] of Object.entries(config.commands)) {
    // systemd-socket-proxyd is not on PATH: systemd installs it in lib/systemd/; iproute2
    // installs its programs in sbin/ (nixpkgs' iproute2 makeFlags, SBINDIR=$(out)/sbin).
    const dir = { socketProxyd: "lib\\/systemd", ip: "sbin" }[name] ?? "bin";
    assert.match(
      path,
      new RegExp(`^/nix/store/[0-9a-z]{32}-[^/]+/${dir}/[a-z-]+$`),
      `commands.${name}`,
    );
  }
  assert.match(config.commands.df, /-coreutils-[\d.]+\/bin\/df$/);
  assert.match(config.commands.systemctl, /-systemd-\d+\/bin\/systemctl$/);
  const upgrade = m.config.systemd.units[UNIT.upgrade].text!;
  assert.match(upgrade, new RegExp(`^ExecStart=${PACKAGE}/bin/grapheon-tool upgrade$`, "m"));
  assert.match(upgrade, new RegExp(`^TimeoutStartSec=${upgradeTimeoutSeconds(config)}s$`, "m"));
  assert.match(
    m.config.systemd.units[UNIT.path].text!,
    /^PathExists=\/var\/lib\/grapheon\/data\/upgrade-requested$/m,
  );
  // Once per boot: a later start of multi-user.target (every nixos-rebuild switch) does
  // not run the recovery again.
  assert.match(m.config.systemd.units[UNIT.recover].text!, /^RemainAfterExit=yes$/m);
  const backend = m.config.systemd.units["grapheon-backend.service"].text!;
  assert.match(backend, / --pull=never .* -e DATA_DIR=\/app\/data .*:current$/m);
  assert.match(backend, /^ExecStop=\S+\/bin\/podman stop -t 15 grapheon-backend$/m);
  assert.deepEqual(m.config.systemd.tmpfiles.rules, [
    "d /var/lib/grapheon/data 0755 root root -",
    "d /var/lib/grapheon-tool 0700 root root -",
    "f /etc/grapheon/grapheon.env 0600 root root -",
  ]);
  assert.equal(m.config.environment.etc[CONFIG].target, CONFIG);
  assert.equal(m.config.virtualisation.podman.enable, true);
  assert.deepEqual(m.config.environment.systemPackages, [PACKAGE]);
  assert.deepEqual(m.config.networking.firewall.allowedTCPPorts, []);
  assert.match(m.toplevel, /^\/nix\/store\/\S+-nixos-system$/);
});

nixTest(
  "module with custom options: tags, ports, env, env files, settings, no upgrade units",
  async () => {
    const m = await evalWith({
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
    const backend = m.config.systemd.units["grapheon-backend.service"].text!;
    assert.match(backend, / --network=grapheon -v \/persistent\/grapheon:\/app\/data:z /);
    // The host port is the socket's; nginx asks the gateway for the container port.
    const units = m.config.systemd.units;
    assert.match(units["grapheon-backend.socket"].text!, /^ListenStream=127\.0\.0\.1:9000$/m);
    assert.match(
      units["grapheon-backend-bridge.socket"].text!,
      /^ListenStream=10\.89\.0\.1:8000$/m,
    );
    assert.equal(units["grapheon-frontend.socket"], undefined);
    assert.deepEqual(m.config.networking.firewall.interfaces["podman+"].allowedTCPPorts, [8000]);
    assert.match(
      backend,
      / --env-file=\/run\/secrets\/jwt\.env -e LOG_LEVEL=info -e "MOTTO=100%% \$\$real" /,
    );
    assert.deepEqual(m.config.networking.firewall.allowedTCPPorts, [9080]);
    assert.equal(m.config.systemd.units[UNIT.path], undefined);
  },
);

nixTest(
  "upgrade.settings merges deeply across modules, with mkDefault and mkIf inside",
  async () => {
    const m = await evalWith(
      {},
      `[
      ({ lib, ... }: {
        services.grapheon.upgrade.settings = {
          timeouts.health = lib.mkDefault "60s";
          timeouts.pull = "10m";
          backups.keep = 7;
          canary = lib.mkIf false { enabled = false; };
        };
      })
      ({ lib, ... }: {
        services.grapheon.upgrade.settings = {
          timeouts.health = "90s";
          timeouts.canary = lib.mkDefault "30s";
          images = lib.mkIf true { keep = 4; };
        };
      })
    ]`,
    );
    const text = m.config.environment.etc[CONFIG].source.json;
    assert.doesNotMatch(text, /_type/, "no mkDefault/mkIf left in the JSON");
    const config = await assertModuleMatchesTemplates(m, true);
    // Both modules' timeouts kept; the plain definition beats mkDefault; the rest default.
    assert.equal(config.timeouts.health, "90s");
    assert.equal(config.timeouts.pull, "10m");
    assert.equal(config.timeouts.canary, "30s");
    assert.equal(config.timeouts.restart, "90s");
    assert.equal(config.backups.keep, 7);
    assert.equal(config.images.keep, 4);
    assert.equal(config.canary.enabled, true, "mkIf false defines nothing");
    // The upgrade unit's timeout follows the merged settings.
    assert.match(
      m.config.systemd.units[UNIT.upgrade].text!,
      new RegExp(`^TimeoutStartSec=${upgradeTimeoutSeconds(config)}s$`, "m"),
    );
  },
);

nixTest(
  "upgrade.settings: nixpkgs' JSON type semantics (conflicts refused, lists concatenated)",
  async () => {
    await assert.rejects(
      evalWith(
        {},
        `[
        { services.grapheon.upgrade.settings.timeouts.health = "60s"; }
        { services.grapheon.upgrade.settings.timeouts.health = "90s"; }
      ]`,
      ),
      /services\.grapheon\.upgrade\.settings\.timeouts\.health' has conflicting definition values/,
    );
    const m = await evalWith(
      {},
      `[
      { services.grapheon.upgrade.settings.health.acceptStatus = [ "healthy" ]; }
      { services.grapheon.upgrade.settings.health.acceptStatus = [ "degraded" ]; }
    ]`,
    );
    const config = parseConfig(m.config.environment.etc[CONFIG].source.json, "module");
    assert.deepEqual([...config.health.acceptStatus].sort(), ["degraded", "healthy"]);
  },
);

nixTest(
  "bad upgrade.settings: a bad duration stops evaluation, a bad value fails config --check",
  async () => {
    await assert.rejects(
      evalWith({ upgrade: { settings: { timeouts: { health: "soon" } } } }),
      /not a duration: soon/,
    );
    await assert.rejects(
      evalWith({}, `[ { services.grapheon.upgrade.settings.timeouts.health = x: x; } ]`),
      /is not of type `JSON value'/,
    );
    const m = await evalWith({ upgrade: { settings: { backups: { keep: 0 } } } });
    const etc = m.config.environment.etc[CONFIG].source;
    // The module runs the same check when it builds the file.
    assert.match(
      etc.buildCommand,
      new RegExp(`^${PACKAGE}/bin/grapheon-tool config --check "\\$jsonPath"$`, "m"),
    );
    assert.deepEqual(etc.passAsFile, ["buildCommand", "json"]);
    const check = await configCheck(etc.json);
    assert.equal(check.code, 3);
    assert.match(check.stderr, /field backups\.keep/);
  },
);

nixTest("an option nixpkgs does not declare is refused by the evaluation", async () => {
  await assert.rejects(
    evalWith({}, `[ { systemd.units."x.service".txt = "typo"; } ]`),
    /The option `systemd\.units\."x\.service"\.txt' does not exist/,
  );
});

const ignoreVerify = nixUnavailable !== null || await verifyUnavailable();

Deno.test({
  name: "the module's units, rendered with this machine's programs, pass systemd-analyze verify",
  ignore: ignoreVerify,
  async fn() {
    await withTemp(async (dir) => {
      // The package's store path stands for a directory with the tool in bin/.
      const pkg = join(dir, "grapheon-tool");
      await Deno.mkdir(join(pkg, "bin"), { recursive: true });
      await Deno.writeTextFile(join(pkg, "bin/grapheon-tool"), "#!/bin/sh\nexit 0\n", {
        mode: 0o755,
      });
      // Stubbed packages "installed" in /usr: podman is /usr/bin/podman, the shell /usr/bin/bash.
      const m = await evalModule({ enable: true, package: pkg }, { hostPrefix: "/usr" });
      assert.equal(m.podman, "/usr");
      const files = [];
      for (const [name, unit] of Object.entries(m.config.systemd.units)) {
        const f = join(dir, name);
        await Deno.writeTextFile(f, unit.text!);
        files.push(f);
      }
      assert.equal(files.length, 10);
      const result = await verifyUnits(files);
      assert.deepEqual(result.problems, []);
      assert.equal(result.code, 0);
      // The check can fail: a unit naming a program that is not there.
      await Deno.remove(join(pkg, "bin/grapheon-tool"));
      const missing = await verifyUnits(files.filter((f) => f.endsWith(UNIT.upgrade)));
      assert.notEqual(missing.code, 0);
    });
  },
});
