import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { LabNode } from '../../../../src/lab/lab-types.ts';
import { PresenceClient, refreshDoc, useDoc, usePresence, type PresenceEntry } from './collab-source.ts';
import { toggleInline, toggleList } from './format.ts';
import { RichParagraph } from './rich-paragraph.tsx';
import { nodeLabel } from './names.ts';

const NO_PRESENCE = new PresenceClient({ editor: '', node: '', color: '#888888', doc: '', paragraph: null, offset: null });
NO_PRESENCE.close();

/** One simulated person editing the document through the node they chose. */
export function EditorPanel(props: {
  doc: string;
  editor: string;
  color: string;
  node: string;
  nodes: readonly LabNode[];
  onNode: (id: string) => void;
  onRoster: (editor: string, roster: readonly PresenceEntry[]) => void;
}): ReactNode {
  const { doc, editor, node } = props;
  const snapshot = useDoc(doc, node);
  const [client, setClient] = useState<PresenceClient | null>(null);
  const saves = useRef(0);
  useEffect(() => {
    const c = new PresenceClient({ editor, node, color: props.color, doc, paragraph: null, offset: null });
    setClient(c);
    return () => c.close();
  }, [editor, props.color, doc]);
  useEffect(() => client?.update({ node }), [client, node]);
  const presence = usePresence(client ?? NO_PRESENCE);
  const { onRoster } = props;
  useEffect(() => onRoster(editor, presence.roster), [onRoster, editor, presence.roster]);
  const others = presence.roster.filter((p) => p.id !== presence.you && p.doc === doc);
  // Another editor saved: read now rather than at the next poll (the hint is ephemeral, the data is not).
  const othersRev = others.map((o) => `${o.id}:${o.rev ?? 0}`).join(',');
  useEffect(() => refreshDoc(doc, node), [othersRev, doc, node]);
  const nodeState = props.nodes.find((n) => n.id === node);
  const down = nodeState && nodeState.health === 'down';

  return (
    <section className="panel editor-panel" data-testid={`editor-${editor}`} style={{ borderTopColor: props.color }}>
      <header className="editor-head">
        <h3>
          <span className="avatar" style={{ background: props.color }}>
            {editor[0]}
          </span>
          {editor}
        </h3>
        <label>
          via{' '}
          <select value={node} onChange={(e) => props.onNode(e.target.value)} data-testid={`node-${editor}`}>
            {props.nodes.map((n) => (
              <option key={n.id} value={n.id}>
                {nodeLabel(n.id)} ({n.id}){n.health === 'down' ? ' — down' : ''}
              </option>
            ))}
          </select>
        </label>
        <span className={`conn ${presence.connected ? 'ok' : 'bad'}`}>{presence.connected ? 'presence live' : 'presence offline'}</span>
      </header>
      <div className="toolbar" role="toolbar" aria-label={`${editor}'s formatting`}>
        <button type="button" title="Bold" onMouseDown={(e) => e.preventDefault()} onClick={() => toggleInline('b')} data-testid={`bold-${editor}`}>
          <b>B</b>
        </button>
        <button type="button" title="Italic" onMouseDown={(e) => e.preventDefault()} onClick={() => toggleInline('i')}>
          <i>I</i>
        </button>
        <button type="button" title="Bulleted list" onMouseDown={(e) => e.preventDefault()} onClick={() => toggleList('ul')}>
          • List
        </button>
        <button type="button" title="Numbered list" onMouseDown={(e) => e.preventDefault()} onClick={() => toggleList('ol')}>
          1. List
        </button>
      </div>
      {down && (
        <p className="error" role="alert">
          {nodeLabel(node)} is down: {editor}'s reads and writes fail — pick another node.
        </p>
      )}
      {snapshot.error && <p className="error">{snapshot.error}</p>}
      {snapshot.paragraphs.map((p) => (
        <RichParagraph
          key={p.key}
          doc={doc}
          read={p}
          editor={editor}
          node={node}
          others={others.filter((o) => o.paragraph === p.key)}
          onCaret={(paragraph, offset) => client?.update({ paragraph, offset })}
          onSaved={() => client?.update({ rev: ++saves.current })}
        />
      ))}
    </section>
  );
}
