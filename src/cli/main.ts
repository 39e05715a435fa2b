import { USAGE, UsageError } from './usage.ts';
import { runNode } from './node-command.ts';
import { runCluster } from './cluster-command.ts';
import { runClient } from './client-commands.ts';
import { runSim } from './sim-command.ts';
import { runBenchCommand } from './bench-command.ts';

/** `nosqldb <command>`: dispatches to one command; exit codes: 0 ok, 1 failure, 2 usage. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'node':
        return await runNode(rest);
      case 'cluster':
        return await runCluster(rest, { lab: false });
      case 'lab':
        return await runCluster(rest, { lab: true });
      case 'sim':
        return await runSim(rest);
      case 'bench':
        return await runBenchCommand(rest);
      case 'get':
      case 'put':
      case 'del':
      case 'status':
      case 'ring':
        return await runClient(command, rest);
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        console.log(USAGE);
        return;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`nosqldb: ${(e as Error).message}`);
      console.error(USAGE);
      process.exit(2);
    }
    console.error(`nosqldb: ${(e as Error).message}`);
    process.exit(1);
  }
}
