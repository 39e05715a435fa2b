import { useState, type ReactNode } from 'react';
import type { CoordinatedRead } from '../../../../src/lab/demo-types.ts';
import { fieldValue } from './replication-model.ts';

export type Counter = 'likes' | 'retweets' | 'comments';

/** The tweet as read through the chosen node (R as chosen), with the three counter buttons. */
export function TweetCard(props: {
  tweetKey: string;
  tweets: readonly string[];
  onTweet: (key: string) => void;
  onCreate: (text: string) => Promise<void>;
  read: CoordinatedRead | undefined;
  nodes: readonly string[];
  liveNode: string;
  onLiveNode: (id: string) => void;
  onCount: (field: Counter) => void;
  clicks: { ok: number; failed: number; lastError: string | null };
  disabled: boolean;
}): ReactNode {
  const [draft, setDraft] = useState('');
  const doc = props.read?.status === 200 ? (props.read.value as Record<string, unknown>) : null;
  const count = (f: Counter): string => {
    const v = fieldValue(doc, f);
    return v === null ? '—' : v.toLocaleString('en-US');
  };
  const readNote = !props.read ? 'reading…' : props.read.status === 200 ? null : props.read.status === 0 ? `Node-${props.liveNode.slice(1)} is unreachable` : `read answered ${props.read.status}${props.read.status === 503 ? ' (quorum not met)' : ''}`;
  return (
    <section className="panel ts-tweet" data-testid="tweet-card">
      <div className="row ts-tweet-pick">
        <label>
          Tweet{' '}
          <select value={props.tweetKey} onChange={(e) => props.onTweet(e.target.value)} data-testid="tweet-select">
            {props.tweets.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (draft.trim()) void props.onCreate(draft.trim()).then(() => setDraft(''));
          }}
        >
          <input value={draft} maxLength={140} placeholder="Write a new tweet…" onChange={(e) => setDraft(e.target.value)} data-testid="tweet-new-text" />
          <button type="submit" data-testid="tweet-create">
            Tweet
          </button>
        </form>
      </div>
      <p className="ts-text" data-testid="tweet-text">
        “{typeof doc?.text === 'string' ? doc.text : '…'}”
      </p>
      <div className="ts-counts">
        <div className="ts-count big" data-testid="likes-count">
          ❤️ Likes: <b>{count('likes')}</b>
          <span className="ts-from">
            (Live from{' '}
            <select value={props.liveNode} onChange={(e) => props.onLiveNode(e.target.value)} data-testid="live-node">
              {props.nodes.map((id) => (
                <option key={id} value={id}>
                  Node-{id.slice(1)}
                </option>
              ))}
            </select>
            , R={props.read?.r ?? '?'})
          </span>
        </div>
        <div className="ts-count" data-testid="retweets-count">
          🔄 Retweets: <b>{count('retweets')}</b>
        </div>
        <div className="ts-count" data-testid="comments-count">
          💬 Comments: <b>{count('comments')}</b>
        </div>
        {readNote && <div className="error">{readNote}</div>}
      </div>
      <div className="row">
        <button type="button" className="primary" onClick={() => props.onCount('likes')} disabled={props.disabled} data-testid="like">
          ♥ Like
        </button>
        <button type="button" onClick={() => props.onCount('retweets')} disabled={props.disabled} data-testid="retweet">
          🔄 Retweet
        </button>
        <button type="button" onClick={() => props.onCount('comments')} disabled={props.disabled} data-testid="comment">
          💬 Comment
        </button>
      </div>
      <p className="hint" data-testid="click-tally">
        Each click is one <code>$inc</code> with its own Idempotency-Key, sent to Node-{props.liveNode.slice(1)}. Your clicks: {props.clicks.ok} acknowledged
        {props.clicks.failed > 0 && `, ${props.clicks.failed} failed (${props.clicks.lastError ?? ''})`}.
        {props.disabled && ' Paused while a burst runs, so its count stays exact.'}
      </p>
    </section>
  );
}
