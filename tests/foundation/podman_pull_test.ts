/**
 * The podman adapter's pull: the image ID is taken from what `podman pull` prints (its last
 * stdout line, as podman 4.3 prints it in the lab), and asked of `podman image inspect` only
 * when the output has none.
 */
import assert from "node:assert/strict";
import type { Runner } from "../../lib/host/exec.ts";
import { Podman } from "../../lib/host/podman.ts";

const ID = "a22e99209a40f3e6495fd5adc13847b6fa51d35fc541d7cc8389c71b030e258c";
const REF = "registry.example/grapheon-backend:v0.5.0";

function recording(pullStdout: string): { runner: Runner; calls: string[][] } {
  const calls: string[][] = [];
  const runner: Runner = (argv) => {
    calls.push([...argv]);
    if (argv[1] === "pull") {
      return Promise.resolve({ code: 0, stdout: pullStdout, stderr: "Copying config\n" });
    }
    return Promise.resolve({ code: 0, stdout: JSON.stringify([{ Id: ID }]), stderr: "" });
  };
  return { runner, calls };
}

Deno.test("podman pull: the printed ID is used, no inspect", async () => {
  const { runner, calls } = recording(`${ID}\n`);
  assert.equal(await new Podman(runner).pull(REF, { timeoutMs: 1000 }), ID);
  assert.deepEqual(calls.map((c) => c[1]), ["pull"]);
});

Deno.test("podman pull: no ID printed, the image is inspected", async () => {
  const { runner, calls } = recording("Writing manifest to image destination\n");
  assert.equal(await new Podman(runner).pull(REF, { timeoutMs: 1000 }), ID);
  assert.deepEqual(calls.map((c) => c[1]), ["pull", "image"]);
});
