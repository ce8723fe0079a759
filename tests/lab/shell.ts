/**
 * A lab host to poke at by hand: boots it (with the fake releases in the
 * registry and, with `--install`, the tool installed), prints how to enter it,
 * and tears everything down on Ctrl-C (or after `--for SECONDS`).
 *
 *   deno run -A tests/lab/shell.ts [--install] [--shared-network] [--for SECONDS]
 */
import { parseArgs } from "node:util";
import { Lab } from "./lab.ts";
import { labUnavailableReason } from "./preflight.ts";
import { installTool } from "./tool.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      install: { type: "boolean" },
      "shared-network": { type: "boolean" },
      for: { type: "string" },
    },
    strict: true,
  });
  const reason = labUnavailableReason();
  if (reason) {
    console.error(`lab shell: cannot run here: ${reason}`);
    Deno.exit(1);
  }
  const lab = await Lab.boot({
    name: "grapheon-lab-shell",
    privateNetwork: !values["shared-network"],
  });
  try {
    if (values.install) console.error(await installTool(lab));
    console.error(
      `\nhost is up. Enter it with:\n  nsenter -t ${lab.leader} -m -u -i -p -n -- /bin/bash\n` +
        `registry ${lab.registry} (inside the host's network); Ctrl-C tears it down.\n`,
    );
    const seconds = Number(values.for ?? "86400");
    await new Promise((r) => setTimeout(r, seconds * 1000));
  } finally {
    await lab.teardown();
  }
}
