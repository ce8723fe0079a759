/**
 * SSH between the fleet's controller and its hosts, as in production: every
 * key is made per run with ssh-keygen (the controller's client key, each
 * host's own host key), each host's sshd accepts only that client key, and the
 * controller knows each host's key beforehand (a known_hosts file checked
 * strictly), so a host answering with another key is refused, not trusted.
 */
import { join } from "node:path";
import { run, runChecked } from "../../lib/host/exec.ts";
import type { Lab } from "./lab.ts";

/** The controller's key pair and what it trusts. */
export interface ControllerKeys {
  /** Private key file (the public one is `${identity}.pub`). */
  identity: string;
  /** The known_hosts file the controller checks host keys against. */
  knownHosts: string;
}

/** Makes an ed25519 key pair at `path` (and `path.pub`) with no passphrase. */
export async function makeKey(path: string, comment: string): Promise<string> {
  await runChecked(run, ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
  return (await Deno.readTextFile(`${path}.pub`)).trim();
}

/** The controller's client key, and an empty known_hosts that `startSshd` fills. */
export async function controllerKeys(dir: string): Promise<ControllerKeys> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const identity = join(dir, "id_ed25519");
  await makeKey(identity, "grapheon-fleet-controller");
  const knownHosts = join(dir, "known_hosts");
  await Deno.writeTextFile(knownHosts, "");
  return { identity, knownHosts };
}

async function writeSecret(path: string, text: string, mode: number): Promise<void> {
  await Deno.writeTextFile(path, text, { mode });
  // the mode of writeTextFile is masked by the umask; sshd checks it
  await Deno.chmod(path, mode);
}

/**
 * Gives the host its own host key, lets the controller's key in for root, starts
 * its sshd, and records the host key in the controller's known_hosts under `address`.
 */
export async function startSshd(
  lab: Lab,
  options: { address: string; keys: ControllerKeys; workDir: string },
): Promise<void> {
  const hostKey = join(options.workDir, `ssh_host_ed25519_key-${lab.name}`);
  const pub = await makeKey(hostKey, `root@${lab.name}`);
  const etc = lab.hostPath("/etc/ssh");
  await writeSecret(join(etc, "ssh_host_ed25519_key"), await Deno.readTextFile(hostKey), 0o600);
  await writeSecret(join(etc, "ssh_host_ed25519_key.pub"), pub + "\n", 0o644);
  await Deno.mkdir(join(etc, "sshd_config.d"), { recursive: true });
  await Deno.writeTextFile(
    join(etc, "sshd_config.d", "50-grapheon-fleet.conf"),
    [
      "# The fleet lab: only this run's host key, only the controller's key.",
      "HostKey /etc/ssh/ssh_host_ed25519_key",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      `ListenAddress ${options.address}`,
      "",
    ].join("\n"),
  );
  const dotSsh = lab.hostPath("/root/.ssh");
  await Deno.mkdir(dotSsh, { recursive: true, mode: 0o700 });
  await Deno.chmod(dotSsh, 0o700);
  const clientPub = await Deno.readTextFile(`${options.keys.identity}.pub`);
  await writeSecret(join(dotSsh, "authorized_keys"), clientPub, 0o600);
  // ssh.service checks the config (sshd -t) in its ExecStartPre
  await lab.exec(["systemctl", "start", "ssh.service"]);
  const [type, key] = pub.split(" ");
  await Deno.writeTextFile(options.keys.knownHosts, `${options.address} ${type} ${key}\n`, {
    append: true,
  });
}
