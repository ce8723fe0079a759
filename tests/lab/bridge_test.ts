/**
 * lib/host/bridge.ts against the real kernel and iproute2, in a throwaway network namespace:
 * a bridge left alone takes the lowest address among its ports, so a port leaving changes it
 * (the stall a backend swap caused under netavark 1.4); once `Bridge.pinAddress` has run,
 * ports coming and going no longer change it.
 */
import assert from "node:assert/strict";
import { Bridge } from "../../lib/host/bridge.ts";
import { run, runChecked, type Runner } from "../../lib/host/exec.ts";
import { labTest } from "./preflight.ts";

const GATEWAY = "10.89.0.1";

/** A namespace with bridge `br-lab` holding GATEWAY, and `ip` run inside it. */
async function namespace(name: string) {
  await runChecked(run, ["ip", "netns", "add", name]);
  const ip = async (...args: string[]) =>
    (await runChecked(run, ["ip", "-n", name, ...args])).stdout;
  await ip("link", "add", "br-lab", "type", "bridge");
  await ip("addr", "add", `${GATEWAY}/24`, "dev", "br-lab");
  await ip("link", "set", "br-lab", "up");
  /** Adds a veth port with MAC `mac` to the bridge (as netavark adds a container's). */
  const addPort = async (port: string, mac: string) => {
    await ip("link", "add", port, "address", mac, "type", "veth", "peer", "name", `${port}p`);
    await ip("link", "set", port, "master", "br-lab");
    await ip("link", "set", port, "up");
  };
  const address = async () =>
    (JSON.parse(await ip("-j", "link", "show", "dev", "br-lab")) as { address: string }[])[0]
      .address;
  /** The runner the adapter gets: its `ip` runs inside the namespace. */
  const runner: Runner = (argv, options) => run(["ip", "-n", name, ...argv.slice(1)], options);
  return { ip, addPort, address, runner, remove: () => run(["ip", "netns", "del", name]) };
}

labTest("bridge: a pinned bridge keeps its address while ports come and go", async (t) => {
  const ns = await namespace(`grapheon-br-${Deno.pid}`);
  try {
    await ns.addPort("old0", "02:00:00:00:00:10");
    await ns.addPort("new0", "02:00:00:00:00:20");

    await t.step(
      "unpinned, it follows the lowest port, and changes when that one leaves",
      async () => {
        assert.equal(await ns.address(), "02:00:00:00:00:10");
        await ns.ip("link", "del", "old0");
        assert.equal(await ns.address(), "02:00:00:00:00:20");
      },
    );

    await t.step("pinned, a port leaving or a lower one joining leaves it alone", async () => {
      const pinned = await new Bridge(ns.runner).pinAddress(GATEWAY);
      assert.deepEqual(pinned, { ifname: "br-lab", address: "02:00:00:00:00:20" });
      await ns.addPort("low0", "02:00:00:00:00:01");
      await ns.ip("link", "del", "new0");
      assert.equal(await ns.address(), "02:00:00:00:00:20");
    });

    await t.step("an address nobody holds, or one not on a bridge: null, nothing set", async () => {
      const bridge = new Bridge(ns.runner);
      assert.equal(await bridge.pinAddress("10.99.0.1"), null);
      // A veth (this kernel may have no dummy module), as a container's end would be.
      await ns.ip("addr", "add", "10.98.0.1/24", "dev", "low0p");
      assert.equal(await bridge.pinAddress("10.98.0.1"), null);
    });
  } finally {
    await ns.remove();
  }
});
