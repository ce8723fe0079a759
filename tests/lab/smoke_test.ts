/**
 * Lab smoke test, independent of the tool: boot the host, pull a fake backend
 * release from the lab registry under a systemd unit, see it answer the
 * contract's health body through a mapped port, write to its data dir, and
 * stop everything without leaving a process or a mount behind.
 */
import assert from "node:assert/strict";
import { assertCleanTeardown, Lab } from "./lab.ts";
import { SEED_VERSION } from "./images.ts";
import { labTest } from "./preflight.ts";
import { waitFor } from "./procs.ts";

const UNIT = `[Unit]
Description=lab smoke: a fake backend pulled from the lab registry

[Service]
ExecStartPre=-/usr/bin/podman rm -f smoke-backend
ExecStart=/usr/bin/podman run --rm --name smoke-backend -p 127.0.0.1:18000:8000 -v /srv/smoke:/app/data -e DATA_DIR=/app/data @IMAGE@
ExecStop=/usr/bin/podman stop -t 10 smoke-backend
`;

labTest("smoke: boot, registry, a fake backend under systemd", async (t) => {
  const lab = await Lab.boot({ name: "grapheon-lab-smoke" });
  try {
    await t.step("systemd is PID 1 of the host", async () => {
      const comm = await lab.exec(["cat", "/proc/1/comm"]);
      assert.equal(comm.stdout.trim(), "systemd");
    });

    await t.step("the registry serves the release tags", async () => {
      const r = await lab.exec([
        "curl",
        "-sf",
        `http://${lab.registry}/v2/grapheon-backend/tags/list`,
      ]);
      const tags: string[] = JSON.parse(r.stdout).tags;
      assert.ok(tags.includes(`v${SEED_VERSION}`), `tags: ${tags}`);
      assert.ok(tags.includes("latest"), `tags: ${tags}`);
    });

    await t.step("a unit runs the pulled release and it answers /health", async () => {
      await lab.exec(["mkdir", "-p", "/srv/smoke"]);
      await Deno.writeTextFile(
        lab.hostPath("/etc/systemd/system/lab-smoke.service"),
        UNIT.replace("@IMAGE@", `${lab.registry}/grapheon-backend:v${SEED_VERSION}`),
      );
      await lab.systemctl("daemon-reload");
      await lab.systemctl("start", "lab-smoke.service");
      const body = await waitFor("the fake backend to answer", async () => {
        const r = await lab.exec(["curl", "-sf", "http://127.0.0.1:18000/health"], {
          check: false,
        });
        return r.code === 0 ? JSON.parse(r.stdout) : undefined;
      }, { timeoutMs: 30_000, intervalMs: 100 }).catch(async (err) => {
        throw new Error(`${err.message}\n${await lab.journal("lab-smoke.service")}`);
      });
      assert.equal(body.status, "healthy");
      assert.equal(body.app, "Graphēon");
      assert.equal(body.version, SEED_VERSION);
      assert.equal(typeof body.uptime_seconds, "number");
      assert.ok(Array.isArray(body.checks));
      const log = await Deno.readTextFile(lab.hostPath("/srv/smoke/fake-backend.log"));
      assert.match(log, new RegExp(`${SEED_VERSION.replaceAll(".", "\\.")} started`));
    });

    await t.step("stopping the unit stops the container", async () => {
      await lab.systemctl("stop", "lab-smoke.service");
      const ps = await lab.exec(["podman", "ps", "-q"]);
      assert.equal(ps.stdout.trim(), "");
    });

    await t.step("teardown ends every process and leaves no mount", async () => {
      await assertCleanTeardown(lab);
    });
  } finally {
    await lab.teardown(); // idempotent: a no-op after the teardown step
  }
});
