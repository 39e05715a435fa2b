/**
 * The editor's formatting, done on the DOM directly (no `document.execCommand`, which is
 * deprecated): bold and italic wrap or unwrap the selection; lists turn the paragraph's
 * blocks into list items and back.
 */

function editableOf(node: Node | null): HTMLElement | null {
  const el = node instanceof HTMLElement ? node : (node?.parentElement ?? null);
  return el?.closest<HTMLElement>('[data-rich]') ?? null;
}

function changed(root: HTMLElement): void {
  root.dispatchEvent(new Event('input', { bubbles: true }));
}

/** Bold (`b`) or italic (`i`) on the current selection. */
export function toggleInline(tag: 'b' | 'i'): void {
  const sel = window.getSelection();
  if (!sel || sel.rangeCount === 0) return;
  const range = sel.getRangeAt(0);
  const root = editableOf(range.commonAncestorContainer);
  if (!root) return;
  const names = tag === 'b' ? ['B', 'STRONG'] : ['I', 'EM'];
  let el: Node | null = range.commonAncestorContainer;
  while (el && el !== root) {
    if (el instanceof HTMLElement && names.includes(el.tagName)) {
      const parent = el.parentNode;
      while (el.firstChild) parent?.insertBefore(el.firstChild, el);
      el.remove();
      changed(root);
      return;
    }
    el = el.parentNode;
  }
  if (range.collapsed) return;
  const wrap = document.createElement(tag);
  wrap.appendChild(range.extractContents());
  range.insertNode(wrap);
  sel.removeAllRanges();
  const r = document.createRange();
  r.selectNodeContents(wrap);
  sel.addRange(r);
  changed(root);
}

/** Turns the focused paragraph into a bulleted / numbered list, or back into paragraphs. */
export function toggleList(kind: 'ul' | 'ol'): void {
  const sel = window.getSelection();
  const root = editableOf(sel?.anchorNode ?? null);
  if (!root) return;
  const lists = [...root.children].filter((c) => c.tagName === 'UL' || c.tagName === 'OL');
  if (lists.length > 0 && lists.every((l) => l.tagName === kind.toUpperCase())) {
    const ps = lists.flatMap((l) => [...l.children].map((li) => `<p>${li.innerHTML}</p>`));
    root.innerHTML = ps.join('');
  } else {
    const items: string[] = [];
    for (const c of [...root.childNodes]) {
      if (c instanceof HTMLElement && (c.tagName === 'UL' || c.tagName === 'OL')) items.push(...[...c.children].map((li) => li.innerHTML));
      else if (c instanceof HTMLElement && c.tagName !== 'BR') items.push(c.innerHTML);
      else if (c.nodeType === Node.TEXT_NODE && (c.textContent ?? '').trim()) items.push(c.textContent ?? '');
    }
    root.innerHTML = `<${kind}>${(items.length ? items : ['']).map((i) => `<li>${i}</li>`).join('')}</${kind}>`;
  }
  changed(root);
}

/** The caret's offset in the root's text, or null when the selection is elsewhere. */
export function caretOffset(root: HTMLElement): number | null {
  const sel = window.getSelection();
  if (!sel || sel.rangeCount === 0 || !root.contains(sel.anchorNode)) return null;
  const r = document.createRange();
  r.selectNodeContents(root);
  const range = sel.getRangeAt(0);
  r.setEnd(range.endContainer, range.endOffset);
  return r.toString().length;
}

/** A collapsed range at a text offset of the root (clamped to its end). */
export function rangeAtOffset(root: HTMLElement, offset: number): Range {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let left = offset;
  let last: Text | null = null;
  const r = document.createRange();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n as Text;
    last = t;
    if (left <= t.length) {
      r.setStart(t, left);
      r.collapse(true);
      return r;
    }
    left -= t.length;
  }
  if (last) r.setStart(last, last.length);
  else r.setStart(root, 0);
  r.collapse(true);
  return r;
}

export function setCaret(root: HTMLElement, offset: number): void {
  const sel = window.getSelection();
  if (!sel) return;
  sel.removeAllRanges();
  sel.addRange(rangeAtOffset(root, offset));
}
