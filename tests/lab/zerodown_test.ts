/**
 * Issue 16 on the real host (systemd PID 1, Podman, the lab registry): the units' sockets
 * hold the ports across every container swap, so good upgrades and an operator's rollback
 * cost zero failed requests for a client with 5 s of patience, on the backend's port
 * (:8000/health) and on the path a user takes, through the frontend (:8080/api/health,
 * relayed by the fake nginx to the backend's socket on the network's gateway). Two clients
 * probe from outside the host, one request at a time, every 50 ms. Reports the latency of
 * the requests that arrived during each swap.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { GOOD_VERSIONS } from "./images.ts";
import { assertCleanTeardown, Lab } from "./lab.ts";
import { labTest } from "./preflight.ts";
import { parseProbes, type Probe, startProber } from "./prober.ts";
import { sleep } from "./procs.ts";
import {
  HEALTH_URL,
  installTool,
  readStatus,
  tool,
  upgradeViaApp,
  writeToolConfig,
} from "./tool.ts";

/** The user's path: the frontend's /api/, proxied to the backend. */
const API_URL = "http://127.0.0.1:8080/api/health";
const PROBE_MS = 50;
/** A client's patience (issue 16's measure). */
const PATIENCE_MS = 5000;

/** p50/p99/max of the probes' durations. */
function latency(probes: readonly Probe[]): string {
  const ms = probes.map((p) => p.ms).sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0;
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${ms.at(-1) ?? 0} ms`;
}

labTest(
  "zero downtime: good upgrades and a rollback, 0 failed requests on :8000 and via :8080/api",
  async (t) => {
    const lab = await Lab.boot({ name: "grapheon-lab-zerodown" });
    try {
      await installTool(lab);
      // Canary off: only the swap is measured (the canary never touches what serves).
      await writeToolConfig(lab, { canary: { enabled: false } });

      await t.step(
        "the sockets are systemd's, and nginx's backend name is the gateway",
        async () => {
          for (
            const unit of [
              "grapheon-backend.socket",
              "grapheon-frontend.socket",
              "grapheon-backend-bridge.socket",
            ]
          ) {
            const r = await lab.exec(["systemctl", "show", "-P", "ActiveState", unit]);
            assert.equal(r.stdout.trim(), "active", unit);
          }
          const hosts = await lab.exec([
            "podman",
            "exec",
            "grapheon-frontend",
            "cat",
            "/etc/hosts",
          ]);
          assert.match(hosts.stdout, /^10\.89\.0\.1\s+grapheon-backend$/m);
          const api = await lab.exec(["curl", "-sf", "-m", "5", API_URL]);
          assert.equal(JSON.parse(api.stdout).status, "healthy");
        },
      );

      const outs = {
        backend: join(lab.runDir, "backend.jsonl"),
        api: join(lab.runDir, "api.jsonl"),
      };
      const probers = [];
      for (const [path, url] of [["backend", HEALTH_URL], ["api", API_URL]] as const) {
        probers.push(
          await startProber(lab, {
            label: `prober-${path}`,
            url,
            out: outs[path],
            intervalMs: PROBE_MS,
            timeoutMs: PATIENCE_MS,
          }),
        );
      }
      const windows: { label: string; from: number; to: number }[] = [];
      await sleep(1500);
      for (const version of GOOD_VERSIONS.slice(0, 2)) {
        await t.step(`good upgrade to ${version}: completed`, async () => {
          const from = Date.now();
          const s = await upgradeViaApp(lab, version);
          assert.equal(s.status, "completed", String(s.message));
          windows.push({ label: `upgrade to ${version}`, from, to: Date.now() });
        });
      }
      await t.step("rollback by hand: completed", async () => {
        const from = Date.now();
        const r = await tool(lab, ["rollback", "--yes", "--json"]);
        if (r.code !== 0) {
          assert.fail(`${r.stderr}\n${await lab.journal("grapheon-backend.service", 60)}`);
        }
        assert.equal((await readStatus(lab))?.kind, "rollback");
        windows.push({ label: "rollback", from, to: Date.now() });
      });
      await sleep(1500);
      for (const p of probers) await p.stop();

      await t.step(
        "the network's bridge has an address set by hand (lib/host/bridge.ts)",
        async () => {
          const holders = await lab.exec(["ip", "-j", "-4", "addr", "show", "to", "10.89.0.1"]);
          const [{ ifname }] = JSON.parse(holders.stdout) as { ifname: string }[];
          // NET_ADDR_SET (include/uapi/linux/netdevice.h): the kernel no longer changes it.
          const type = await lab.exec(["cat", `/sys/class/net/${ifname}/addr_assign_type`]);
          assert.equal(type.stdout.trim(), "3", ifname);
        },
      );

      await t.step("no request failed, on either path, in any swap", async () => {
        for (const [path, file] of Object.entries(outs)) {
          const probes = parseProbes(await Deno.readTextFile(file));
          assert.ok(probes.length > 100, `${path}: only ${probes.length} probes`);
          for (const w of windows) {
            const inside = probes.filter((p) => p.t >= w.from && p.t <= w.to);
            const failed = inside.filter((p) => !p.ok);
            console.log(
              `[zerodown] ${path} ${w.label}: ${failed.length} of ${inside.length} requests failed; ${
                latency(inside)
              }`,
            );
            if (failed.length > 0) {
              // The host's journal of the window, to see what the swap did meanwhile.
              const journal = await lab.exec([
                "journalctl",
                "--no-pager",
                "-o",
                "short-unix",
                `--since=@${Math.floor(w.from / 1000)}`,
                `--until=@${Math.ceil(w.to / 1000)}`,
              ], { check: false });
              assert.fail(
                `${path}, ${w.label}: ${failed.length} failed requests: ${
                  JSON.stringify(failed.slice(0, 5))
                }\n${journal.stdout.split("\n").slice(-150).join("\n")}`,
              );
            }
          }
        }
      });

      await t.step("teardown ends every process and leaves no mount", async () => {
        await assertCleanTeardown(lab);
      });
    } finally {
      await lab.teardown();
    }
  },
);
