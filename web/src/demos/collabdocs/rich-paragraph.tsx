import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { asParagraph, collabApi, refreshDoc, type KeyRead, type PresenceEntry } from './collab-source.ts';
import { compare, formatClock, textOf } from './clocks.ts';
import { caretOffset, rangeAtOffset, setCaret } from './format.ts';
import { sanitize } from './sanitize.ts';

/** Quiet time after the last keystroke before the paragraph is written. */
const SAVE_DEBOUNCE_MS = 300;
const HISTORY_KEPT = 10;

interface Props {
  readonly doc: string;
  readonly read: KeyRead;
  readonly editor: string;
  readonly node: string;
  readonly others: readonly PresenceEntry[];
  readonly onCaret: (paragraph: string | null, offset: number | null) => void;
  /** Called after each successful write (the editor tells the others over presence). */
  readonly onSaved: () => void;
}

/**
 * One paragraph in one editor's view: a rich-text field that writes through the editor's node
 * with the context of the version the edit started from, so concurrent edits become siblings
 * instead of silently overwriting each other. Other editors' cursors are drawn on top.
 */
export function RichParagraph(props: Props): ReactNode {
  const { read, editor, node } = props;
  const ref = useRef<HTMLDivElement>(null);
  const base = useRef<KeyRead | null>(null);
  const written = useRef<Record<string, number> | null>(null);
  const timer = useRef<number | undefined>(undefined);
  const edits = useRef(0);
  const saving = useRef(false);
  const [status, setStatus] = useState<{ kind: 'idle' | 'dirty' | 'saving' | 'saved' | 'error'; text?: string }>({ kind: 'idle' });
  const [carets, setCarets] = useState<{ id: number; editor: string; color: string; left: number; top: number; height: number }[]>([]);
  const shown = read.versions[0];
  const serverHtml = sanitize(asParagraph(shown?.value).html);
  const conflict = read.versions.length > 1;

  // Server → DOM, unless the user has unsaved changes or this is older than what we wrote.
  useEffect(() => {
    const el = ref.current;
    if (!el || base.current || !shown) return;
    if (written.current && !conflict && compare(shown.vectorClock, written.current) === 'before') return;
    if (el.innerHTML === serverHtml) return;
    const focused = document.activeElement === el;
    const at = focused ? caretOffset(el) : null;
    el.innerHTML = serverHtml;
    if (focused && at !== null) setCaret(el, at);
  }, [serverHtml, shown, conflict]);

  const save = async (): Promise<void> => {
    const el = ref.current;
    const from = base.current;
    if (!el || !from) return;
    if (saving.current) {
      timer.current = window.setTimeout(() => void save(), SAVE_DEBOUNCE_MS);
      return;
    }
    saving.current = true;
    const editsAtStart = edits.current;
    const seen = from.versions.map((v) => ({ clock: v.vectorClock, ...asParagraph(v.value) }));
    const history = [...(seen[0]?.history ?? []), ...seen.map((s) => ({ clock: s.clock, editor: s.editor, node: s.node, text: textOf(s.html) }))].slice(-HISTORY_KEPT);
    const html = sanitize(el.innerHTML);
    const value = { html, editor, node, editedAtMs: Date.now(), history };
    setStatus({ kind: 'saving' });
    try {
      const out = await collabApi.write(node, read.key, value, from.context);
      written.current = out.vectorClock;
      // Typing went on while this write was in flight: the next write continues from this one.
      base.current = edits.current === editsAtStart ? null : { ...from, context: out.context, versions: [{ value, vectorClock: out.vectorClock, contentType: 'application/json', writtenAtMs: null }] };
      setStatus({ kind: 'saved', text: formatClock(out.vectorClock) });
      props.onSaved();
      refreshDoc(props.doc, node);
    } catch (e) {
      // Keep the base: the next keystroke (or node change) retries with the same context.
      setStatus({ kind: 'error', text: (e as Error).message });
    } finally {
      saving.current = false;
    }
  };

  const onInput = (): void => {
    base.current ??= read;
    edits.current++;
    setStatus({ kind: 'dirty' });
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void save(), SAVE_DEBOUNCE_MS);
    reportCaret();
  };

  const reportCaret = (): void => {
    const el = ref.current;
    if (!el) return;
    props.onCaret(read.key, caretOffset(el));
  };

  useEffect(() => () => window.clearTimeout(timer.current), []);

  // Other editors' cursors, placed at their text offsets in this DOM.
  const othersKey = props.others.map((o) => `${o.id}:${o.offset}`).join(',');
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const box = el.getBoundingClientRect();
    setCarets(
      props.others
        .filter((o) => o.offset !== null)
        .map((o) => {
          const r = rangeAtOffset(el, o.offset ?? 0).getBoundingClientRect();
          const valid = r.height > 0 || r.left > 0;
          return { id: o.id, editor: o.editor, color: o.color, left: valid ? r.left - box.left : 4, top: valid ? r.top - box.top : 4, height: valid ? r.height || 16 : 16 };
        }),
    );
  }, [othersKey, serverHtml]);

  return (
    <div className={`rich-para${conflict ? ' has-conflict' : ''}`} data-testid={`edit-${editor}-${read.key.split('/').pop()}`}>
      <div
        ref={ref}
        className="rich"
        data-rich
        contentEditable
        suppressContentEditableWarning
        onInput={onInput}
        onKeyUp={reportCaret}
        onMouseUp={reportCaret}
        onFocus={reportCaret}
        onBlur={() => props.onCaret(null, null)}
      />
      {carets.map((c) => (
        <span key={c.id} className="remote-caret" style={{ left: c.left, top: c.top, height: c.height, background: c.color }} data-testid={`caret-${c.editor}`}>
          <span className="remote-caret-label" style={{ background: c.color }}>
            {c.editor}
          </span>
        </span>
      ))}
      <div className="rich-status">
        {conflict && <span className="warn">⚠️ {read.versions.length} versions — resolve in the document</span>}
        {status.kind === 'dirty' && <span>editing…</span>}
        {status.kind === 'saving' && <span>saving via {node}…</span>}
        {status.kind === 'saved' && <span data-testid="saved">saved {status.text}</span>}
        {status.kind === 'error' && (
          <span className="error" role="alert">
            {status.text}
          </span>
        )}
      </div>
    </div>
  );
}
