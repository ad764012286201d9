/** What the test servers need from the machine: Debian packages and free loopback ports. */

async function run(command: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { DEBIAN_FRONTEND: "noninteractive" },
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${command} ${args.join(" ")} failed:\n${text.slice(-2000)}`);
  }
}

/**
 * Installs Debian's `name` package with apt-get (through sudo unless root).
 * The package lists are refreshed only when the first try fails: a fresh
 * machine's lists are usually good enough, and updating them is slow.
 */
export async function aptInstall(name: string): Promise<void> {
  const apt = (...args: string[]) =>
    Deno.uid() === 0 ? run("apt-get", args) : run("sudo", ["apt-get", ...args]);
  const install = () => apt("install", "-y", "--no-install-recommends", name);
  try {
    await install();
  } catch {
    await apt("update");
    await install();
  }
}

/** A loopback TCP port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
