import { useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { demoApi, idempotencyKey, useDemoLive } from '../data/demo-live-source.ts';
import { useLab } from '../data/lab-source.ts';
import { BurstPanel } from './tweetstats/burst-panel.tsx';
import { FOLLOWERS_KEY, FollowersPanel } from './tweetstats/followers-panel.tsx';
import { repairOf, replicaRows } from './tweetstats/replication-model.ts';
import { ReplicationStatus } from './tweetstats/replication-status.tsx';
import { TweetCard, type Counter } from './tweetstats/tweet-card.tsx';
import './tweetstats/tweetstats.css';

const FIRST_TWEET = 'tweet/hello';
const FIRST_TEXT = 'Hello, distributed world!';

/** A tweet document: text plus three PN-counters. Creating it twice (same key) changes nothing. */
function createTweet(node: string, key: string, text: string): Promise<unknown> {
  return demoApi.patch(node, key, { text: { $set: text }, likes: { $inc: 0 }, retweets: { $inc: 0 }, comments: { $inc: 0 } }, { idem: `create-${key}` });
}

/** `/demo/tweetstats` — issue 8: a distributed like counter on the real cluster. */
export default function TweetStatsPage(): ReactNode {
  const { state, events } = useLab();
  const [tweetKey, setTweetKey] = useState(FIRST_TWEET);
  const [tweets, setTweets] = useState<string[]>([FIRST_TWEET]);
  const [liveNode, setLiveNode] = useState('n1');
  const n = state?.ring?.n ?? 3;
  const [w, setW] = useState(2);
  const [r, setR] = useState(2);
  const [clicks, setClicks] = useState({ ok: 0, failed: 0, lastError: null as string | null });
  const live = useDemoLive({ keys: [tweetKey, FOLLOWERS_KEY], reads: [{ key: tweetKey, node: liveNode, r }] });
  const snapshot = live.snapshot;
  const nodes = useMemo(() => (state?.nodes ?? []).map((x) => x.id), [state?.nodes]);
  const running = (state?.nodes ?? []).filter((x) => x.process === 'running').map((x) => x.id);
  const anyRunning = running[0] ?? 'n1';

  const refreshTweets = useCallback(async (via: string) => {
    const { keys } = await demoApi.list(via, 'tweet/');
    setTweets([...new Set([FIRST_TWEET, ...keys])].sort());
  }, []);

  // The first tweet exists once: the create carries a fixed Idempotency-Key.
  useEffect(() => {
    if (!state) return;
    void createTweet(anyRunning, FIRST_TWEET, FIRST_TEXT)
      .then(() => refreshTweets(anyRunning))
      .catch(() => undefined);
    // Once per page visit, when the Lab state first arrives.
  }, [state === null]);

  const count = (field: Counter): void => {
    const node = liveNode;
    demoApi
      .patch(node, tweetKey, { [field]: { $inc: 1 }, last_updated: Date.now() / 1000 }, { w, idem: idempotencyKey(`click-${field}`) })
      .then(() => setClicks((c) => ({ ...c, ok: c.ok + 1 })))
      .catch((e: unknown) => setClicks((c) => ({ ...c, failed: c.failed + 1, lastError: (e as Error).message })));
  };

  const nowMs = snapshot?.atMs ?? Date.now();
  const rows = useMemo(() => replicaRows(live.history, tweetKey, 'likes', nowMs), [live.history, tweetKey, nowMs]);
  const repairs = useMemo(() => Object.fromEntries(nodes.map((id) => [id, repairOf(events, id)])), [events, nodes]);
  const groups = state?.plan.groups ?? [];
  const isolated = groups.length > 1 ? groups.filter((g) => g.length === 1).flat() : [];
  const burst = snapshot?.burst ?? null;
  const bursting = burst !== null && burst.config.key === tweetKey && burst.phase !== 'done';
  const read = snapshot?.reads.find((x) => x.key === tweetKey && x.node === liveNode && x.r === r);

  return (
    <div className="ts-page" data-testid="tweetstats">
      <section className="panel ts-head">
        <h2>🐦 TweetStats — Distributed Counter Demo</h2>
        <p className="hint">
          Real-time like, retweet and follower counts on the Lab's {nodes.length}-node cluster. Every number below is read from a real node; {live.connected ? 'live' : 'connecting…'}.
        </p>
      </section>
      <div className="ts-top">
        <TweetCard
          tweetKey={tweetKey}
          tweets={tweets}
          onTweet={setTweetKey}
          onCreate={async (text) => {
            const key = `tweet/${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
            await createTweet(liveNode, key, text);
            await refreshTweets(liveNode);
            setTweetKey(key);
          }}
          read={read}
          nodes={nodes}
          liveNode={liveNode}
          onLiveNode={setLiveNode}
          onCount={count}
          clicks={clicks}
          disabled={bursting}
        />
        <ReplicationStatus rows={rows} field="likes" nowMs={nowMs} repairs={repairs} isolated={isolated} n={n} w={w} r={r} onW={setW} onR={setR} />
      </div>
      <BurstPanel tweetKey={tweetKey} history={live.history} burst={burst} w={w} labStartMs={state?.startedAtMs ?? 0} nowT={state ? nowMs - state.startedAtMs : 0} faults={state?.faults ?? []} />
      <div className="ts-bottom">
        <FollowersPanel values={snapshot?.values[FOLLOWERS_KEY] ?? {}} nodes={nodes} w={w} />
        <Explanation n={n} w={w} r={r} />
      </div>
    </div>
  );
}

function Explanation(props: { n: number; w: number; r: number }): ReactNode {
  return (
    <section className="panel ts-explain" data-testid="explanation">
      <h2>What you are seeing</h2>
      <ul>
        <li>
          <b>RF = {props.n}</b>: every tweet document is stored on {props.n} nodes, the key's preference list on the ring (the first is its "primary"; any node can coordinate a
          write).
        </li>
        <li>
          <b>W = {props.w}</b>: a click is acknowledged once {props.w} replica(s) stored it; the others get it right after, or later by <i>hinted handoff</i> (a node that was
          down), <i>read repair</i> (a read that saw an old copy) or <i>anti-entropy</i> (Merkle-tree comparison in the background).
        </li>
        <li>
          <b>R = {props.r}</b>: the big number is read through the chosen node from {props.r} replica(s), merged. The rows show each replica's own copy (
          <code>?local=true</code>), which is what lags.
        </li>
        <li>
          <b>Why the count is exact</b>: likes is a PN-counter CRDT — each node counts its own increments, and merging keeps each node's highest, so replicas never overwrite each
          other's likes. Each click carries an <i>Idempotency-Key</i>: a retried click (after a timeout or a dead node) is applied once, never twice.
        </li>
      </ul>
    </section>
  );
}
