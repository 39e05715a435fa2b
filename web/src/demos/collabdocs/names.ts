/** "Node-1" for n1, as the mock-up names nodes. */
export function nodeLabel(id: string): string {
  const m = /^n(\d+)$/.exec(id);
  return m ? `Node-${m[1]}` : id;
}

export const EDITORS: readonly { name: string; color: string; node: string }[] = [
  { name: 'Alice', color: '#2563eb', node: 'n1' },
  { name: 'Bob', color: '#db2777', node: 'n2' },
];
