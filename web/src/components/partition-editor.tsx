import { useState, type ReactNode } from 'react';
import type { FaultPlan, LabNode, LinkFault } from '../../../src/lab/lab-types.ts';
import { labApi } from '../data/lab-source.ts';
import { ActionButton } from './action-button.tsx';

const GROUPS = ['A', 'B', 'C'] as const;

/** Put nodes in groups (a partition), cut or slow single links, lose messages; heal. */
export function PartitionEditor(props: { nodes: readonly LabNode[]; plan: FaultPlan }): ReactNode {
  const ids = props.nodes.map((n) => n.id);
  const [assign, setAssign] = useState<Record<string, number>>({});
  const groupOf = (id: string): number => assign[id] ?? props.plan.groups.findIndex((g) => g.includes(id)) ?? 0;
  const effective = (id: string): number => Math.max(0, groupOf(id));
  const groups = GROUPS.map((_, g) => ids.filter((id) => effective(id) === g)).filter((g) => g.length > 0);

  const pairs: [string, string][] = [];
  ids.forEach((a, i) => ids.slice(i + 1).forEach((b) => pairs.push([a, b])));
  const [links, setLinks] = useState<Record<string, { cut: boolean; delayMs: number }>>({});
  const [loss, setLoss] = useState<Record<string, number>>({});
  const linkOf = (a: string, b: string): { cut: boolean; delayMs: number } => {
    const k = `${a}|${b}`;
    if (links[k]) return links[k];
    const current = props.plan.links.find((l) => (l.a === a && l.b === b) || (l.a === b && l.b === a));
    return { cut: current?.cut ?? false, delayMs: current?.delayMs ?? 0 };
  };
  const lossOf = (id: string): number => loss[id] ?? Math.round((props.plan.loss[id] ?? 0) * 100);

  const applyLinks = (): Promise<unknown> => {
    const list: LinkFault[] = pairs.map(([a, b]) => ({ a, b, ...linkOf(a, b) })).filter((l) => l.cut || l.delayMs > 0);
    const lossRates = Object.fromEntries(ids.map((id) => [id, lossOf(id) / 100]).filter(([, v]) => (v as number) > 0));
    return labApi.links(list, lossRates);
  };
  const partitioned = props.plan.groups.length > 1;

  return (
    <section className="panel partition" data-testid="partition-editor">
      <h2>Network</h2>
      <p className="hint">{partitioned ? `Partitioned: ${props.plan.groups.map((g) => `{${g.join(', ')}}`).join(' | ')}` : 'No partition.'} Nodes in different groups cannot talk.</p>
      <table className="groups">
        <thead>
          <tr>
            <th>node</th>
            {GROUPS.map((g) => (
              <th key={g}>{g}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {ids.map((id) => (
            <tr key={id}>
              <td>{id}</td>
              {GROUPS.map((g, gi) => (
                <td key={g}>
                  <input type="radio" name={`group-${id}`} aria-label={`${id} in group ${g}`} data-testid={`group-${id}-${g}`} checked={effective(id) === gi} onChange={() => setAssign({ ...assign, [id]: gi })} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row">
        <ActionButton label="Apply partition" kind="primary" testId="apply-partition" disabled={groups.length < 2} onClick={() => labApi.partition(groups)} />
        <ActionButton
          label="Heal all"
          testId="heal"
          onClick={async () => {
            setAssign({});
            setLinks({});
            setLoss({});
            return labApi.heal();
          }}
        />
      </div>
      <details>
        <summary>Single links, delay and loss</summary>
        <table className="links">
          <thead>
            <tr>
              <th>link</th>
              <th>cut</th>
              <th>delay ms</th>
            </tr>
          </thead>
          <tbody>
            {pairs.map(([a, b]) => {
              const l = linkOf(a, b);
              return (
                <tr key={`${a}|${b}`}>
                  <td>
                    {a}–{b}
                  </td>
                  <td>
                    <input type="checkbox" aria-label={`cut ${a}–${b}`} data-testid={`cut-${a}-${b}`} checked={l.cut} onChange={(e) => setLinks({ ...links, [`${a}|${b}`]: { ...l, cut: e.target.checked } })} />
                  </td>
                  <td>
                    <input type="number" min={0} max={60000} step={10} aria-label={`delay ${a}–${b}`} value={l.delayMs} onChange={(e) => setLinks({ ...links, [`${a}|${b}`]: { ...l, delayMs: Math.max(0, Number(e.target.value) || 0) } })} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <div className="loss">
          {ids.map((id) => (
            <label key={id}>
              {id} loss %
              <input type="number" min={0} max={100} value={lossOf(id)} onChange={(e) => setLoss({ ...loss, [id]: Math.min(100, Math.max(0, Number(e.target.value) || 0)) })} />
            </label>
          ))}
        </div>
        <ActionButton label="Apply links" testId="apply-links" onClick={applyLinks} />
      </details>
    </section>
  );
}
