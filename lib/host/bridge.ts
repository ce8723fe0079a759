/**
 * The container network's bridge, through iproute2's `ip` (argv only, its JSON output
 * validated): its MAC address pinned, so that it stays the same while containers come and go.
 *
 * Why: the kernel gives a bridge whose address nobody set the lowest address among its ports.
 * A backend swap removes one port (the old container's veth) and adds another, so it can
 * change the gateway's MAC under the frontend, whose neighbour entry for the gateway then
 * names an address that no longer answers: nginx's connections to the backend's relay sit in
 * SYN retries for seconds, and its graceful stop waits on them (seen in the lab with Debian
 * 12's netavark 1.4; netavark sets a static address itself since containers/netavark#833).
 * An address set by hand is kept for the bridge's life (the kernel's
 * `br_stp_recalculate_bridge_id` returns early once `addr_assign_type` is NET_ADDR_SET;
 * checked in the lab: the address no longer follows a removed port).
 */
import { z } from "zod";
import { parseJsonArray, runChecked, type Runner } from "./exec.ts";

/** `ip -j -4 addr show to <address>`: the interfaces holding the address. */
const addrSchema = z.looseObject({ ifname: z.string().regex(/^[^\s/]{1,15}$/) });

/** `ip -j -d link show dev <ifname>`: its MAC and kind. */
const linkSchema = z.looseObject({
  address: z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/).optional(),
  linkinfo: z.looseObject({ info_kind: z.string().optional() }).optional(),
});

/** A bridge whose address was pinned. */
export interface PinnedBridge {
  /** The bridge interface, e.g. `podman1`. */
  ifname: string;
  /** Its MAC address, now set by hand. */
  address: string;
}

/** The bridge operations (tests replace them). */
export interface BridgeOps {
  /**
   * Pins the MAC address of the bridge that holds `gateway` to the one it has now; null when
   * no bridge holds it (no container on the network yet: netavark makes the bridge with the
   * first one).
   */
  pinAddress(gateway: string): Promise<PinnedBridge | null>;
}

/** The real bridge adapter. */
export class Bridge implements BridgeOps {
  /** Runs `program` (iproute2's `ip`) through `runner`. */
  constructor(private readonly runner: Runner, private readonly program = "ip") {}

  /** See BridgeOps.pinAddress. */
  async pinAddress(gateway: string): Promise<PinnedBridge | null> {
    const holders = await this.#json(addrSchema, ["-j", "-4", "addr", "show", "to", gateway]);
    const ifname = holders[0]?.ifname;
    if (!ifname) return null;
    const [link] = await this.#json(linkSchema, ["-j", "-d", "link", "show", "dev", ifname]);
    if (link?.linkinfo?.info_kind !== "bridge" || !link.address) return null;
    // Setting the address it has already is what marks it as set by hand.
    await this.#ip(["link", "set", "dev", ifname, "address", link.address]);
    return { ifname, address: link.address };
  }

  async #ip(args: string[]): Promise<string> {
    return (await runChecked(this.runner, [this.program, ...args], { timeoutMs: 10_000 })).stdout;
  }

  async #json<T>(schema: z.ZodType<T>, args: string[]): Promise<T[]> {
    return parseJsonArray(
      await this.#ip(args),
      schema,
      `${this.program} ${args.filter((a) => !a.startsWith("-")).slice(0, 2).join(" ")}`,
    );
  }
}
