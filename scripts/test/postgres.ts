/**
 * A throwaway PostgreSQL server for the test suite: Debian's binaries
 * (installed with apt-get when missing), a cluster in a temp dir, a free
 * loopback port, trust auth. initdb refuses to run as root, so as root the
 * server runs as the `postgres` system user the package creates.
 */
import { aptInstall, freePort } from "./system.ts";

/** A running test server. */
export interface TestPostgres {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  stop(): Promise<void>;
}

async function sh(
  command: string,
  args: string[],
  options: { asPostgres?: boolean; quiet?: boolean } = {},
) {
  const asRoot = Deno.uid() === 0;
  const [cmd, argv] = options.asPostgres && asRoot
    ? ["runuser", ["-u", "postgres", "--", command, ...args]]
    : [command, args];
  const out = await new Deno.Command(cmd, { args: argv, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${command} ${args.join(" ")} failed:\n${text.slice(-2000)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** The bin directory of the newest installed PostgreSQL, installing it if there is none. */
async function postgresBin(): Promise<string> {
  const find = () => {
    try {
      const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name).sort((
        a,
        b,
      ) => Number(b) - Number(a));
      for (const version of versions) {
        const bin = `/usr/lib/postgresql/${version}/bin`;
        try {
          Deno.statSync(`${bin}/initdb`);
          return bin;
        } catch {
          // not this one
        }
      }
    } catch {
      // no PostgreSQL at all
    }
    return undefined;
  };
  const found = find();
  if (found) return found;
  console.error("PostgreSQL is not installed: installing Debian's postgresql package…");
  await aptInstall("postgresql");
  const installed = find();
  if (!installed) {
    throw new Error(
      "apt-get installed postgresql but no initdb was found under /usr/lib/postgresql",
    );
  }
  return installed;
}

/** Starts a fresh server; `stop()` shuts it down and removes its files. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = await postgresBin();
  const dir = await Deno.makeTempDir({ prefix: "llm-gateway-pg-" });
  if (Deno.uid() === 0) await sh("chown", ["postgres", dir]);
  const data = `${dir}/data`;
  await sh(`${bin}/initdb`, ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"], {
    asPostgres: true,
  });
  const port = freePort();
  const options =
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  await sh(`${bin}/pg_ctl`, ["-D", data, "-o", options, "-l", `${dir}/server.log`, "-w", "start"], {
    asPostgres: true,
  });
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      try {
        await sh(`${bin}/pg_ctl`, ["-D", data, "-m", "immediate", "-w", "stop"], {
          asPostgres: true,
        });
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  };
}
