/**
 * The NixOS module's units on real systemd: the lab host (systemd as PID 1,
 * Podman, the lab registry) configured from the module's evaluation
 * (tests/lab/nixos_host.ts) instead of `install`, then driven as the app drives
 * it: a good release through the request file, a bad one rolled back. What
 * "the module renders the same units" means on a running host. One host, steps
 * in order.
 */
import assert from "node:assert/strict";
import { BAD_VERSIONS, GOOD_VERSIONS, SEED_VERSION } from "./images.ts";
import { assertCleanTeardown, Lab } from "./lab.ts";
import { evalLabModule, installPackage, PACKAGE_DIR, switchTo } from "./nixos_host.ts";
import { labTest } from "./preflight.ts";
import {
  backendHealth,
  BIN,
  copyDenoCache,
  frontendPage,
  seedDatabase,
  unitState,
  upgradeViaApp,
  waitForSeed,
} from "./tool.ts";

const RECOVER = "grapheon-upgrade-recover.service";

async function show(lab: Lab, unit: string, property: string): Promise<string> {
  return (await lab.exec(["systemctl", "show", "-P", property, unit])).stdout.trim();
}

labTest("nixos: the module's units run on real systemd: switch, upgrade, rollback", async (t) => {
  const started = Date.now();
  const lab = await Lab.boot({ name: "grapheon-lab-nixos" });
  let good = SEED_VERSION;
  try {
    const m = await evalLabModule(lab);

    await t.step(
      "the units name the host's real programs and pass systemd-analyze verify there",
      async () => {
        assert.equal(`${PACKAGE_DIR}/bin/grapheon-tool`, BIN);
        await copyDenoCache(lab);
        await installPackage(lab);
        const dir = "/run/grapheon-nixos-units";
        await lab.exec(["mkdir", "-p", dir]);
        for (const [name, unit] of Object.entries(m.config.systemd.units)) {
          await Deno.writeTextFile(lab.hostPath(`${dir}/${name}`), unit.text!);
        }
        const names = Object.keys(m.config.systemd.units).sort();
        assert.deepEqual(names, [
          "grapheon-backend-bridge.service",
          "grapheon-backend-bridge.socket",
          "grapheon-backend.service",
          "grapheon-backend.socket",
          "grapheon-frontend.service",
          "grapheon-frontend.socket",
          "grapheon-images.service",
          RECOVER,
          "grapheon-upgrade.path",
          "grapheon-upgrade.service",
        ]);
        const verify = await lab.exec(
          ["systemd-analyze", "verify", "--man=no", ...names.map((n) => `${dir}/${n}`)],
          { check: false },
        );
        assert.equal(verify.code, 0, verify.stderr);
        const about = verify.stderr.split("\n").filter((l) => names.some((n) => l.includes(n)));
        assert.deepEqual(about, []);
        for (const program of ["/usr/bin/podman", "/usr/bin/bash", BIN]) {
          await lab.exec(["test", "-x", program]);
        }
        assert.match(
          m.config.systemd.units["grapheon-backend.service"].text!,
          /^ExecStart=\/usr\/bin\/podman run /m,
        );
      },
    );

    await t.step(
      "first switch: the module's units start the seed release from the lab registry",
      async () => {
        await seedDatabase(lab);
        const report = await switchTo(lab, m);
        assert.equal(report.changed.length, 10);
        await waitForSeed(lab);
        // wantedBy sockets.target: the switch started the sockets, which hold the ports.
        for (const socket of ["grapheon-backend.socket", "grapheon-frontend.socket"]) {
          assert.equal(await unitState(lab, socket), "active", socket);
        }
        assert.equal((await backendHealth(lab))?.version, SEED_VERSION);
        assert.equal(await unitState(lab, "grapheon-upgrade.path"), "active");
        // What runs is the module's file, as written.
        for (const [name, unit] of Object.entries(m.config.systemd.units)) {
          assert.equal(await show(lab, name, "FragmentPath"), `/etc/systemd/system/${name}`);
          assert.equal(
            await Deno.readTextFile(lab.hostPath(`/etc/systemd/system/${name}`)),
            unit.text,
          );
        }
        // The recovery ran once (nothing to recover) and stays active: once per boot.
        assert.equal(await show(lab, RECOVER, "Result"), "success");
        assert.equal(await show(lab, RECOVER, "ActiveState"), "active");
        assert.equal(await show(lab, RECOVER, "SubState"), "exited");
      },
    );

    await t.step(
      "another switch does not run the recovery again (without RemainAfterExit it would)",
      async () => {
        const first = await show(lab, RECOVER, "InvocationID");
        const report = await switchTo(lab, m);
        assert.deepEqual(report.changed, []);
        assert.equal(await show(lab, RECOVER, "InvocationID"), first, "not run again");
        // The case, on the same systemd: the oneshot without RemainAfterExit.
        const dropIn = lab.hostPath(`/etc/systemd/system/${RECOVER}.d/50-lab-no-remain.conf`);
        await Deno.mkdir(lab.hostPath(`/etc/systemd/system/${RECOVER}.d`), { recursive: true });
        await Deno.writeTextFile(dropIn, "[Service]\nRemainAfterExit=no\n");
        await lab.systemctl("daemon-reload");
        await lab.systemctl("stop", RECOVER);
        await switchTo(lab, m);
        const once = await show(lab, RECOVER, "InvocationID");
        assert.equal(await show(lab, RECOVER, "ActiveState"), "inactive");
        await switchTo(lab, m);
        const twice = await show(lab, RECOVER, "InvocationID");
        assert.notEqual(twice, once, "without RemainAfterExit every switch runs the recovery");
        await Deno.remove(dropIn);
        await switchTo(lab, m);
        const back = await show(lab, RECOVER, "InvocationID");
        await switchTo(lab, m);
        assert.equal(await show(lab, RECOVER, "InvocationID"), back);
        assert.equal(await show(lab, RECOVER, "SubState"), "exited");
      },
    );

    await t.step(
      "app request → the module's .path → service: completed, the new version serving",
      async () => {
        const target = GOOD_VERSIONS[0];
        const s = await upgradeViaApp(lab, target);
        assert.equal(s.status, "completed", `status: ${JSON.stringify(s)}`);
        assert.equal(s.progress, 100);
        assert.equal(s.from_version, SEED_VERSION);
        assert.equal((await backendHealth(lab))?.version, target);
        assert.match(await frontendPage(lab) ?? "", new RegExp(`frontend ${target}`));
        assert.equal(await show(lab, "grapheon-upgrade.service", "Result"), "success");
        assert.match(
          await show(lab, "grapheon-upgrade.service", "ExecStart"),
          new RegExp(`path=${BIN} ; argv\\[\\]=${BIN} upgrade ;`),
        );
        good = target;
      },
    );

    await t.step(
      "switch to upgrade.settings.canary.enabled = false; a bad release is rolled back",
      async () => {
        const before = await show(lab, "grapheon-upgrade.service", "TimeoutStartUSec");
        const next = await evalLabModule(lab, { canary: { enabled: false } });
        const report = await switchTo(lab, next);
        // The canary's time leaves the upgrade units' TimeoutStartSec; the containers' do not change.
        assert.deepEqual(report.changed.sort(), ["grapheon-upgrade.service", RECOVER].sort());
        assert.deepEqual(report.restarted, [], "X-RestartIfChanged=false: nothing restarted");
        assert.notEqual(await show(lab, "grapheon-upgrade.service", "TimeoutStartUSec"), before);
        const s = await upgradeViaApp(lab, BAD_VERSIONS.unhealthy);
        assert.equal(s.status, "failed", `status: ${JSON.stringify(s)}`);
        assert.equal(s.rolled_back, true, `status: ${JSON.stringify(s)}`);
        assert.match(String(s.message), /roll(ed)? back/i);
        const health = await backendHealth(lab);
        assert.equal(health?.version, good);
        assert.equal(health?.status, "healthy");
        assert.match(await frontendPage(lab) ?? "", new RegExp(`frontend ${good}`));
      },
    );

    await t.step("teardown ends every process and leaves no mount", async () => {
      await assertCleanTeardown(lab);
      lab.log(`nixos lab test: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    });
  } finally {
    await lab.teardown(); // idempotent: a no-op after the teardown step
  }
});
