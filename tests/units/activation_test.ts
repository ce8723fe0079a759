/** What install and uninstall ask systemctl to do (a recording runner stands in for systemctl). */
import assert from "node:assert/strict";
import type { Runner } from "../../lib/host/exec.ts";
import { CommandError } from "../../lib/core/errors.ts";
import {
  activateUnits,
  deactivateUnits,
  reloadAfterRemoval,
} from "../../lib/install/activation.ts";

function recorder(failOn?: string): { runner: Runner; argv: string[][] } {
  const argv: string[][] = [];
  const runner: Runner = (a) => {
    argv.push([...a]);
    const failed = failOn !== undefined && a.includes(failOn);
    return Promise.resolve({ code: failed ? 1 : 0, stdout: "", stderr: failed ? "boom" : "" });
  };
  return { runner, argv };
}

const containers = [
  "grapheon-images.service",
  "grapheon-backend.service",
  "grapheon-frontend.service",
];

Deno.test("first install: reload, path unit started, recovery enabled, containers started without waiting", async () => {
  const { runner, argv } = recorder();
  const r = await activateUnits(runner, "/bin/systemctl", {
    unitsChanged: true,
    enableNow: ["grapheon-upgrade.path", ...containers],
    enableBoot: ["grapheon-upgrade-recover.service"],
    updated: [],
  });
  assert.deepEqual(argv, [
    ["/bin/systemctl", "daemon-reload"],
    ["/bin/systemctl", "enable", "--now", "grapheon-upgrade.path"],
    ["/bin/systemctl", "enable", "grapheon-upgrade-recover.service"],
    ["/bin/systemctl", "enable", "--now", "--no-block", ...containers],
  ]);
  assert.deepEqual(r.calls, argv.map((a) => a.slice(1)));
  assert.deepEqual(r.restartNeeded, []);
});

Deno.test("nothing changed: no reload, enabling again is harmless", async () => {
  const { runner, argv } = recorder();
  await activateUnits(runner, "systemctl", {
    unitsChanged: false,
    enableNow: ["grapheon-upgrade.path"],
    enableBoot: ["grapheon-upgrade-recover.service"],
    updated: [],
  });
  assert.ok(!argv.some((a) => a.includes("daemon-reload")));
  assert.ok(!argv.some((a) => a.includes("restart")));
});

Deno.test("updated units: the path unit is restarted, container units are only reported", async () => {
  const { runner, argv } = recorder();
  const r = await activateUnits(runner, "systemctl", {
    unitsChanged: true,
    enableNow: ["grapheon-upgrade.path", ...containers],
    enableBoot: ["grapheon-upgrade-recover.service"],
    updated: ["grapheon-upgrade.path", "grapheon-backend.service"],
  });
  assert.deepEqual(argv.at(-1), ["systemctl", "restart", "grapheon-upgrade.path"]);
  assert.ok(!argv.some((a) => a.includes("restart") && a.includes("grapheon-backend.service")));
  assert.deepEqual(r.restartNeeded, ["grapheon-backend.service"]);
});

Deno.test("a failing systemctl call stops the install with the command in the error", async () => {
  const { runner } = recorder("enable");
  await assert.rejects(
    activateUnits(runner, "systemctl", {
      unitsChanged: true,
      enableNow: ["grapheon-upgrade.path"],
      enableBoot: [],
      updated: [],
    }),
    (err) =>
      err instanceof CommandError &&
      /systemctl enable --now grapheon-upgrade\.path exited 1: boom/.test(err.message),
  );
});

Deno.test("uninstall: the path unit is disabled first, then a reload", async () => {
  const { runner, argv } = recorder();
  const calls = await deactivateUnits(runner, "systemctl", [
    "grapheon-upgrade-recover.service",
    "grapheon-backend.service",
    "grapheon-upgrade.path",
  ]);
  calls.push(...await reloadAfterRemoval(runner, "systemctl"));
  assert.deepEqual(argv, [
    [
      "systemctl",
      "disable",
      "--now",
      "grapheon-upgrade.path",
      "grapheon-upgrade-recover.service",
      "grapheon-backend.service",
    ],
    ["systemctl", "daemon-reload"],
  ]);
  assert.deepEqual(calls, argv.map((a) => a.slice(1)));
  assert.deepEqual(await deactivateUnits(runner, "systemctl", []), []);
});
