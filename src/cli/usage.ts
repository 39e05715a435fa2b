/** The one help text; `nosqldb --help` prints it and bad flags print it after the error. */
export const USAGE = `usage: nosqldb <command> [options]

commands:
  node     --id n1 --port 7001 [--seeds HOST:PORT,...] [--data-dir DIR] [--zone Z] [--host 127.0.0.1]
           [--peer-port P] [--n 3] [--r 2] [--w 2] [--partitions 64] [--no-join]
           [--no-hinted-handoff] [--anti-entropy-interval-ms MS] [--admin-token T]
           [--cluster-secret S] [--insecure] [--advertise-host H]
  cluster  [--nodes 3] [--base-port 7001] [--data-dir data] [--fresh] [--host 127.0.0.1] [--zones a,b,c]
  lab      [--port 3000] [--nodes 3] [--base-port 7001] [--data-dir data] [--fresh] [--admin-token T]
           [--zones us-east,eu-west,asia]
  lab      --attach http://HOST:PORT,... [--port 3000] [--host H] [--admin-token T]   (existing cluster)
  get KEY | put KEY VALUE | del KEY | status | ring   [--url http://127.0.0.1:7001]
  bench    (see docs/BENCHMARKS.md)
  sim      --seeds 500 --nodes 5 --faults all | --seed S [--shrink] [--history F] | --check F

node options may also come from the environment: NODE_ID, PORT, SEEDS, DATA_DIR, ZONE, HOST,
PEER_PORT, ADVERTISE_HOST, ADMIN_TOKEN (or NOSQLDB_ADMIN_TOKEN), CLUSTER_SECRET.`;

/** A wrong invocation: the CLI prints the message and the usage and exits 2. */
export class UsageError extends Error {}
