import { useState, type ReactNode } from 'react';
import { asParagraph, collabApi, type KeyRead, type ParagraphValue } from './collab-source.ts';
import { CausalityGraph } from './causality-graph.tsx';
import { formatClock, leq, mergeClocks, sameClock, textOf } from './clocks.ts';
import { merge3 } from './merge.ts';
import { nodeLabel } from './names.ts';
import { sanitize, textToHtml } from './sanitize.ts';

const LETTERS = 'ABCDEFGH';

/** A paragraph as the document shows it: text, who last edited it where, its clock — and its conflict. */
export function ParagraphCard(props: { index: number; read: KeyRead; node: string; resolver: string; colorOf: (editor: string) => string; onResolved: () => void }): ReactNode {
  const { read } = props;
  const [graph, setGraph] = useState(false);
  const [merging, setMerging] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const versions = read.versions.map((v) => ({ v, p: asParagraph(v.value) }));
  const conflict = versions.length > 1;
  const first = versions[0];
  const name = read.key.split('/').pop() ?? read.key;

  const resolve = async (html: string, how: string): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const seen = versions.map(({ v, p }) => ({ clock: v.vectorClock, editor: p.editor, node: p.node, text: textOf(p.html) }));
      const history = [...versions.flatMap(({ p }) => p.history), ...seen].filter((h, i, all) => all.findIndex((x) => sameClock(x.clock, h.clock)) === i).slice(-10);
      const value: ParagraphValue = { html, editor: `${props.resolver} (${how})`, node: props.node, editedAtMs: Date.now(), history };
      // The siblings' context: the resolution supersedes every version it lists.
      await collabApi.write(props.node, read.key, value, read.context);
      setMerging(null);
      props.onResolved();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const startMerge = (): void => {
    const [a, b] = versions;
    if (!a || !b) return;
    // The common ancestor: the newest remembered version both sides' clocks dominate.
    const shared = [...a.p.history, ...b.p.history].filter((h) => leq(h.clock, a.v.vectorClock) && leq(h.clock, b.v.vectorClock));
    const baseEntry = shared.sort((x, y) => Object.values(y.clock).reduce((s, n) => s + n, 0) - Object.values(x.clock).reduce((s, n) => s + n, 0))[0];
    const out = merge3(baseEntry?.text ?? '', textOf(a.p.html), textOf(b.p.html), { a: a.p.editor, b: b.p.editor });
    setMerging(out.text);
  };

  return (
    <article className={`card para-card${conflict ? ' conflict' : ''}`} data-testid={`para-${name}`} data-versions={versions.length}>
      <header>
        <h3>
          Paragraph {props.index + 1}
          {first && !conflict && (
            <span className="meta">
              {' '}
              (Last edited by <b>{first.p.editor}</b> @ {nodeLabel(first.p.node)})
            </span>
          )}
        </h3>
        <button type="button" className="link" onClick={() => setGraph(!graph)} data-testid={`graph-${name}`}>
          {graph ? 'hide causality' : 'causality'}
        </button>
      </header>
      {!conflict && first && (
        <>
          <div className="para-text" dangerouslySetInnerHTML={{ __html: sanitize(first.p.html) }} />
          <p className="clock" data-testid={`clock-${name}`}>
            Vector Clock: <code>{formatClock(first.v.vectorClock)}</code>
          </p>
        </>
      )}
      {read.status === 0 && <p className="error">{read.error}</p>}
      {conflict && (
        <div className="conflict-box" data-testid={`conflict-${name}`}>
          <p className="warn">⚠️ Conflict detected in Paragraph {props.index + 1}!</p>
          <ul className="versions">
            {versions.map(({ v, p }, i) => (
              <li key={formatClock(v.vectorClock)} data-testid={`version-${name}-${i}`}>
                <b>
                  Version {LETTERS[i]} ({p.editor} @ {nodeLabel(p.node)}):
                </b>{' '}
                <span className="para-inline" dangerouslySetInnerHTML={{ __html: sanitize(p.html) }} />
                <br />
                <code>{formatClock(v.vectorClock)}</code>
              </li>
            ))}
          </ul>
          <div className="row">
            {versions.map(({ p }, i) => (
              <button key={i} type="button" disabled={busy} onClick={() => void resolve(p.html, `kept ${p.editor}'s`)} data-testid={`use-${name}-${LETTERS[i]}`}>
                Use {p.editor}'s ({LETTERS[i]})
              </button>
            ))}
            {versions.length === 2 && (
              <button type="button" disabled={busy} onClick={startMerge} data-testid={`merge-${name}`}>
                Merge
              </button>
            )}
          </div>
          {merging !== null && (
            <div className="merge-box">
              <label>
                Three-way merge against the common ancestor (edit before saving; [A | B] marks where both changed the same words):
                <textarea value={merging} onChange={(e) => setMerging(e.target.value)} rows={4} data-testid={`merge-text-${name}`} />
              </label>
              <button type="button" className="primary" disabled={busy} onClick={() => void resolve(textToHtml(merging), 'merged')} data-testid={`merge-save-${name}`}>
                Save merge
              </button>{' '}
              <button type="button" onClick={() => setMerging(null)}>
                Cancel
              </button>
            </div>
          )}
          <p className="hint">
            Resolving writes with the siblings' context, so the new clock dominates {formatClock(mergeClocks(versions.map(({ v }) => v.vectorClock)))}.
          </p>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
        </div>
      )}
      {graph && <CausalityGraph versions={read.versions} colorOf={props.colorOf} />}
    </article>
  );
}
