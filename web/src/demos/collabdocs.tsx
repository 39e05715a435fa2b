import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { labApi, useLab } from '../data/lab-source.ts';
import type { PresenceEntry } from './collabdocs/collab-source.ts';
import { collabApi, refreshDoc, useDoc } from './collabdocs/collab-source.ts';
import { EditorPanel } from './collabdocs/editor-panel.tsx';
import { EDITORS, nodeLabel } from './collabdocs/names.ts';
import { ParagraphCard } from './collabdocs/paragraph-card.tsx';
import { ReplicaPanel } from './collabdocs/replica-panel.tsx';
import { ActionButton } from '../components/action-button.tsx';
import './collabdocs/collabdocs.css';

const DOC = 'proposal';

/** `/demo/collabdocs` — issue 9: concurrent editing with vector clocks, conflicts and resolution. */
export default function CollabDocsPage(): ReactNode {
  const { state, events } = useLab();
  const nodes = state?.nodes ?? [];
  const [editorNodes, setEditorNodes] = useState<Record<string, string>>(() => Object.fromEntries(EDITORS.map((e) => [e.name, e.node])));
  const up = nodes.filter((n) => n.health !== 'down').map((n) => n.id);
  const [viewNode, setViewNode] = useState('n1');
  const via = up.includes(viewNode) ? viewNode : (up[0] ?? viewNode);
  const docView = useDoc(DOC, via);
  const [rosters, setRosters] = useState<Record<string, readonly PresenceEntry[]>>({});
  const onRoster = useCallback((editor: string, roster: readonly PresenceEntry[]) => setRosters((r) => (r[editor] === roster ? r : { ...r, [editor]: roster })), []);
  const roster = Object.values(rosters)[0] ?? [];
  const [seeded, setSeeded] = useState<string | null>(null);
  const [conflictTarget, setConflictTarget] = useState('p3');

  useEffect(() => {
    if (docView.loadedAtMs !== null && docView.paragraphs.length === 0 && seeded === null) {
      setSeeded('seeding');
      collabApi
        .seed(DOC)
        .then(() => setSeeded('done'))
        .catch((e: unknown) => setSeeded(`seed failed: ${(e as Error).message}`));
    }
  }, [docView.loadedAtMs, docView.paragraphs.length, seeded]);

  const colorOf = (editor: string): string => EDITORS.find((e) => editor.startsWith(e.name))?.color ?? '#64748b';
  const conflictCount = docView.paragraphs.filter((p) => p.versions.length > 1).length;

  const simulate = async (): Promise<void> => {
    const [a, b] = EDITORS;
    if (!a || !b) return;
    const na = editorNodes[a.name] ?? a.node;
    const nb = editorNodes[b.name] ?? b.node;
    await collabApi.simulateConflict(
      `docs/${DOC}/${conflictTarget}`,
      { editor: a.name, node: na, html: '<p>Budget: $50,000</p>' },
      { editor: b.name, node: nb, html: '<p>Budget: $75,000 (with travel)</p>' },
    );
    refreshDoc(DOC, via);
  };

  return (
    <div className="collab" data-testid="collabdocs">
      <section className="panel">
        <h2>📝 CollabDocs — Distributed Document Editor</h2>
        <p className="hint">
          Each paragraph is one key <code>docs/{DOC}/pN</code>. Editors write through their own node with the context of the version they started from:
          edits to different paragraphs never conflict; truly concurrent edits to one paragraph become siblings you resolve here.
        </p>
        <div className="row">
          <span>
            Document: <b>"Project Proposal"</b>
          </span>
          <label>
            read via{' '}
            <select value={via} onChange={(e) => setViewNode(e.target.value)} data-testid="view-node">
              {nodes.map((n) => (
                <option key={n.id} value={n.id}>
                  {nodeLabel(n.id)} ({n.id})
                </option>
              ))}
            </select>
          </label>
          <label>
            conflict on{' '}
            <select value={conflictTarget} onChange={(e) => setConflictTarget(e.target.value)}>
              {docView.paragraphs.map((p) => {
                const id = p.key.split('/').pop() ?? '';
                return (
                  <option key={id} value={id}>
                    {id}
                  </option>
                );
              })}
            </select>
          </label>
          <ActionButton label="Simulate conflict" onClick={simulate} testId="simulate-conflict" kind="primary" />
          <span className="hint">partition {nodeLabel(editorNodes.Alice ?? 'n1')} away → Alice and Bob edit the same paragraph → heal</span>
          <ActionButton label="Heal network" onClick={() => labApi.heal()} testId="collab-heal" />
        </div>
        {seeded && seeded.startsWith('seed failed') && <p className="error">{seeded}</p>}
        {docView.error && <p className="error">{docView.error}</p>}
        {conflictCount > 0 && <p className="warn">⚠️ {conflictCount} paragraph(s) in conflict.</p>}
      </section>
      <div className="collab-grid">
        <section className="doc-column" data-testid="document">
          {docView.paragraphs.map((p, i) => (
            <ParagraphCard key={p.key} index={i} read={p} node={via} resolver="You" colorOf={colorOf} onResolved={() => refreshDoc(DOC, via)} />
          ))}
        </section>
        <div className="editors">
          {EDITORS.map((e) => (
            <EditorPanel
              key={e.name}
              doc={DOC}
              editor={e.name}
              color={e.color}
              node={editorNodes[e.name] ?? e.node}
              nodes={nodes}
              onNode={(id) => setEditorNodes((m) => ({ ...m, [e.name]: id }))}
              onRoster={onRoster}
            />
          ))}
        </div>
      </div>
      <section className="panel active-editors" data-testid="active-editors">
        <b>Active Editors:</b>{' '}
        {roster.length === 0 && <span className="hint">none connected</span>}
        {roster.map((p) => (
          <span key={p.id} className="editor-chip" style={{ borderColor: p.color }}>
            👤 {p.editor} ({nodeLabel(p.node)}){p.paragraph ? ` ✎ ${p.paragraph.split('/').pop()}` : ''}
          </span>
        ))}
        {nodes
          .filter((n) => n.health === 'down')
          .map((n) => (
            <span key={n.id} className="bad">
              {' '}
              {nodeLabel(n.id)}: ❌ Failed (edits preserved via anti-entropy)
            </span>
          ))}
      </section>
      <ReplicaPanel doc={DOC} nodes={nodes} events={events} />
    </div>
  );
}
