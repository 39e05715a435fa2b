import type { LocalCluster } from '../cluster/local-cluster.ts';

export interface LabOptions {
  readonly cluster: LocalCluster;
  readonly port: number;
  readonly host: string;
}

/** The Lab web server (being built: see issue "The Lab"). */
export async function startLab(_options: LabOptions): Promise<{ url: string; close(): Promise<void> }> {
  throw new Error('the Lab is not built yet');
}
