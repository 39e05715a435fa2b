import { useState, type DragEvent, type ReactNode } from 'react';
import type { LabNode } from '../../../../src/lab/lab-types.ts';
import { displayName } from '../../../../src/lab/cdn-regions.ts';
import { ActionButton } from '../../components/action-button.tsx';
import { downloadWithToken } from '../../data/lab-source.ts';
import { cdnApi, FILES_PAGE, formatBytes, setFilesOffset, useFiles, type CdnFileRow, type Summary } from './cdn-source.ts';

/** Add Content (drag-and-drop upload, the generator) and the distribution of each file. */
export function ContentPanel(props: { nodes: readonly LabNode[]; summary: Summary | null; onFocus: (f: CdnFileRow | null) => void }): ReactNode {
  const files = useFiles();
  const [over, setOver] = useState(false);
  const [uploads, setUploads] = useState<string[]>([]);
  const [offset, setOffset] = useState(0);
  const limit = props.summary?.fileBytesMax ?? 1024 * 1024;
  const name = (id: string): string => displayName(id, props.nodes.find((n) => n.id === id)?.zone ?? '', props.nodes);

  const upload = async (list: FileList | null): Promise<void> => {
    if (!list) return;
    const log: string[] = [];
    for (const f of [...list]) {
      if (f.size > limit) {
        log.push(`✗ ${f.name}: ${formatBytes(f.size)} is over the ${formatBytes(limit)} value limit`);
        continue;
      }
      try {
        const row = await cdnApi.upload(f);
        log.push(`✓ ${row.name} (${formatBytes(row.size)}, ${row.hash})`);
      } catch (e) {
        log.push(`✗ ${f.name}: ${(e as Error).message}`);
      }
    }
    setUploads((u) => [...log, ...u].slice(0, 8));
  };
  const onDrop = (e: DragEvent): void => {
    e.preventDefault();
    setOver(false);
    void upload(e.dataTransfer.files);
  };
  const gen = props.summary?.generate;
  const page = files.value;

  return (
    <section className="panel cdn-content" data-testid="cdn-content">
      <h2>Content distribution</h2>
      <div className={`dropzone${over ? ' over' : ''}`} onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)} onDrop={onDrop} data-testid="dropzone">
        <p>
          <b>Add Content:</b> drop files here or <label className="file-pick">choose files<input type="file" multiple onChange={(e) => void upload(e.target.files)} data-testid="file-input" /></label>
        </p>
        <p className="hint">
          Each file is one value stored as raw bytes under <code>cdn/&lt;name&gt;</code> with its content type — at most {formatBytes(limit)} (the node's value limit, like Dynamo's 1 MB objects).
        </p>
        <ul className="upload-log">{uploads.map((u, i) => <li key={i}>{u}</li>)}</ul>
      </div>
      <div className="row">
        <ActionButton label="Generate 1,000 files" onClick={() => cdnApi.generate(1000)} testId="generate" disabled={gen?.running === true} />
        {gen && gen.total > 0 && (
          <span data-testid="generate-progress" data-done={gen.done} data-running={gen.running}>
            <progress max={gen.total} value={gen.done + gen.failed} /> {gen.done}/{gen.total} stored{gen.failed ? `, ${gen.failed} failed (${gen.lastError})` : ''}
          </span>
        )}
      </div>
      {page && (
        <>
          <p className="hint">
            {page.total} files. ✅ = that node's own copy (<code>?local=true</code>) really holds the file.
          </p>
          <table className="file-table" data-testid="file-table">
            <thead>
              <tr>
                <th>file</th>
                <th>size</th>
                <th>hash</th>
                <th>primary</th>
                <th>replicas</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {page.files.map((f) => (
                <tr key={f.name} data-testid={`file-${f.name}`} onMouseEnter={() => props.onFocus(f)} onMouseLeave={() => props.onFocus(null)}>
                  <td className="fname" title={f.contentType}>{f.name}</td>
                  <td className="num">{formatBytes(f.size)}</td>
                  <td><code>{f.hash.slice(0, 6)}</code></td>
                  {f.preferenceList.slice(0, 1).map((id) => (
                    <td key={id} data-testid={`replica-${f.name}-${id}`} data-held={f.holders.includes(id)} data-zone={props.nodes.find((n) => n.id === id)?.zone}>
                      {name(id)} {f.holders.includes(id) ? '✅' : '⏳'}
                    </td>
                  ))}
                  <td>
                    {f.preferenceList.slice(1).map((id) => (
                      <span key={id} className="replica" data-testid={`replica-${f.name}-${id}`} data-held={f.holders.includes(id)} data-zone={props.nodes.find((n) => n.id === id)?.zone}>
                        {name(id)} {f.holders.includes(id) ? '✅' : '⏳'}
                      </span>
                    ))}
                  </td>
                  <td>
                    <a href={cdnApi.downloadUrl(f.name)} download={f.name} data-testid={`download-${f.name}`} onClick={downloadWithToken}>download</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="row">
            <button type="button" disabled={offset === 0} onClick={() => { const o = Math.max(0, offset - FILES_PAGE); setOffset(o); setFilesOffset(o); }}>◀ newer</button>
            <span>{page.total ? `${offset + 1}–${Math.min(page.total, offset + FILES_PAGE)} of ${page.total}` : ''}</span>
            <button type="button" disabled={offset + FILES_PAGE >= page.total} onClick={() => { const o = offset + FILES_PAGE; setOffset(o); setFilesOffset(o); }}>older ▶</button>
          </div>
        </>
      )}
      {files.error && <p className="error">{files.error}</p>}
    </section>
  );
}
